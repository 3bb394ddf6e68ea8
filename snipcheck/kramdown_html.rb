# Converts Markdown to HTML with Jekyll's own Markdown library (kramdown), so that what counts as a
# code block is decided exactly as on the published page. Reads {"options": {...}, "documents": [...]}
# as JSON on stdin; writes a JSON list of HTML strings. Each Markdown code block's <pre> carries the
# line it starts on (data-snippet-line), counted from 1 in its document, and so does each <pre> written as
# HTML in the post (data-snippet-raw): the page shows it as code too, though it is not a snippet.
require "json"
require "kramdown"
require "kramdown-parser-gfm"

def mark_code_blocks(el)
  el.attr["data-snippet-line"] = el.options[:location].to_s if el.type == :codeblock
  el.attr["data-snippet-raw"] = el.options[:location].to_s if el.type == :html_element && el.value == "pre"
  el.children.each { |child| mark_code_blocks(child) }
end

request = JSON.parse($stdin.read)
options = request["options"].transform_keys(&:to_sym).merge(syntax_highlighter: nil)
html = request["documents"].map do |text|
  doc = Kramdown::Document.new(text, options)
  mark_code_blocks(doc.root)
  doc.to_html
end
$stdout.write(JSON.generate(html))
