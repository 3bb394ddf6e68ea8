// A "Copy" button on every code block. It copies only the code: no line numbers,
// and for Python console (pycon) blocks only what follows the >>> and ... prompts.
(function () {
  "use strict";
  var status = document.createElement("p");
  status.className = "sr-only";
  status.setAttribute("role", "status");
  status.setAttribute("aria-live", "polite");
  document.body.appendChild(status);

  function codeText(block) {
    var el = block.querySelector("td.code pre, td.rouge-code pre") || block.querySelector("code") || block;
    var text = el.textContent.replace(/\n+$/, "");
    if (block.querySelector(".language-pycon, [data-lang='pycon']") || block.matches(".language-pycon")) {
      text = text.split("\n").filter(function (line) { return /^(>>>|\.\.\.)( |$)/.test(line); })
        .map(function (line) { return line.slice(4); }).join("\n");
    }
    return text;
  }

  function copy(text) {
    if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text);
    return new Promise(function (resolve, reject) { // http:// pages have no clipboard API
      var area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.style.position = "fixed";
      area.style.opacity = "0";
      document.body.appendChild(area);
      area.select();
      var ok = document.execCommand("copy");
      area.remove();
      ok ? resolve() : reject();
    });
  }

  function say(button, message) {
    button.textContent = message;
    status.textContent = "";
    setTimeout(function () { status.textContent = message; }, 50); // re-announce on repeat
    setTimeout(function () { button.textContent = "Copy"; }, 2000);
  }

  var blocks = document.querySelectorAll("figure.highlight, div.highlighter-rouge, pre:not(.highlight):not(.snippet-output):not(.snippet-setup-code):not(pre pre)");
  blocks.forEach(function (block) {
    if (block.matches("pre") && block.closest("figure.highlight, div.highlighter-rouge")) return;
    if (block.matches("pre")) { // bare <pre>: wrap it so the button sits outside the code
      var wrap = document.createElement("div");
      wrap.className = "code-block";
      block.replaceWith(wrap);
      wrap.appendChild(block);
      block = wrap;
    }
    var button = document.createElement("button");
    button.type = "button";
    button.className = "copy-button";
    button.textContent = "Copy";
    button.addEventListener("click", function () {
      copy(codeText(block)).then(function () { say(button, "Copied"); },
                                 function () { say(button, "Copy failed"); });
    });
    block.appendChild(button);
  });
})();
