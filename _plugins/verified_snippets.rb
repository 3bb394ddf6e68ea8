# After each code block of a post, a panel saying whether that snippet was verified,
# read from the results the Python side wrote to _data/snippets/<post-stem>.json.
#
# Safety rule: "Verified" is shown only when the recorded sha256 equals the sha256 of
# the code this page really shows. A changed snippet, a missing results file or a
# different number of blocks all read "Not verified".
require "cgi"
require "digest"

module VerifiedSnippets
  # The code blocks Jekyll renders, in page order: {% highlight %}, Markdown code
  # highlighted by Rouge, and Markdown code in a language Rouge does not know.
  BLOCK = %r{<figure class="highlight">.*?</figure>|<div class="[^"]*highlighter-rouge">.*?</pre></div></div>|<pre><code[^>]*>.*?</code></pre>}m
  TABLE_CODE = %r{<td class="(?:rouge-)?code"><pre>(.*?)</pre>}m # with linenos: not the gutter
  CODE = %r{<code[^>]*>(.*?)</code>}m
  STATUSES = %w[verified failed skipped unverified].freeze
  FOLD_AFTER = 15 # output lines; longer output goes in a <details>

  module_function

  # The code as the reader sees it: tags stripped, entities decoded, no trailing newlines.
  def code_of(block)
    html = block[TABLE_CODE, 1] || block[CODE, 1]
    CGI.unescapeHTML(html.gsub(/<[^>]*>/, "")).sub(/\n+\z/, "")
  end

  # [status, text of the mark] for one block.
  def verdict(entry, code, problem)
    return ["unverified", "Not verified: #{problem}"] if problem
    return ["unverified", "Not verified: the code changed after it was checked"] unless entry["sha256"] == Digest::SHA256.hexdigest(code)

    status = STATUSES.include?(entry["status"]) ? entry["status"] : "unverified"
    case status
    when "verified" then [status, "Verified with #{entry['checker']} on #{entry['date']}"]
    when "failed" then [status, "Failed: #{entry['reason'] || 'no reason recorded'}"]
    else [status, "Not verified: #{entry['reason'] || 'no reason recorded'}"]
    end
  end

  # Pygments markup from the Python side, used only if it is nothing but class spans around exactly the
  # recorded output: whatever a snippet printed can never become markup of its own.
  SPANS_ONLY = %r{\A(?:[^<]|<span class="[a-z0-9 -]+">|</span>)*\z}

  def output_markup(entry)
    text = entry["output"].sub(/\n+\z/, "")
    html = entry["output_html"].to_s.sub(/\n+\z/, "")
    shown = CGI.unescapeHTML(html.gsub(%r{</?span[^>]*>}, ""))
    html.match?(SPANS_ONLY) && shown == text && !html.empty? ? html : CGI.escapeHTML(text)
  end

  def output_html(entry)
    text = entry["output"].sub(/\n+\z/, "")
    pre = %(<pre class="snippet-output highlight"><samp>#{output_markup(entry)}</samp></pre>)
    lines = text.count("\n") + 1
    lines > FOLD_AFTER ? %(<details class="snippet-more"><summary>Output (#{lines} lines)</summary>#{pre}</details>) : pre
  end

  def panel(number, entry, block, problem, baseurl)
    status, mark = verdict(entry, code_of(block), problem)
    html = +%(\n<div class="snippet-check" id="snippet-#{number}" data-status="#{status}">)
    html << %(<p class="snippet-mark">#{CGI.escapeHTML(mark)}</p>)
    if entry && entry["file"]
      href = "#{baseurl}/#{entry['file'].delete_prefix('/')}"
      html << %(<a class="snippet-download" href="#{CGI.escapeHTML(href)}" download>Download #{CGI.escapeHTML(File.basename(href))}</a>)
    end
    html << output_html(entry) if status == "verified" && !entry["output"].to_s.strip.empty?
    html << "</div>\n"
  end
end

Jekyll::Hooks.register :posts, :post_convert do |post|
  results = post.site.data.dig("snippets", post.basename_without_ext)
  entries = (results && results["snippets"]) || []
  count = post.content.scan(VerifiedSnippets::BLOCK).size
  problem = if results.nil? then "no check results for this post"
            elsif entries.size != count then "the check results list #{entries.size} snippets but the post has #{count}"
            end
  baseurl = post.site.config["baseurl"].to_s
  number = 0
  post.content = post.content.gsub(VerifiedSnippets::BLOCK) do |block|
    number += 1
    entry = problem ? nil : entries[number - 1] # never lend a result to another block
    block + VerifiedSnippets.panel(number, entry, block, problem, baseurl)
  end
end
