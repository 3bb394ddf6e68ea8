# Under each code block of a post, a panel saying whether the code it shows was verified, from the results
# the Python side wrote to _data/snippets/*.json (one file per post, found by the "post" field inside it).
#
# Agreement by construction: each code block Jekyll rendered is matched to a result by the fingerprint
# (sha256) of its code as rendered; identical blocks match in page order. A block without a result, or a
# result without a block, stops the build, naming the post and line. (`jekyll serve` shows them in place
# instead: the preview verifies a saved post again right after Jekyll has re-rendered it.)
#
# The plugin passes data only: the markup is _includes/snippet-check.html (and snippet-warning.html), so a
# theme can restyle it. Panels go into the rendered page, not into the post's content, so they stay out of
# feed.xml, excerpts and the reading time.
require "digest"
require "cgi"
require "kramdown"

module VerifiedSnippets
  FOLD_AFTER = 15 # output lines; the include folds longer output
  WINDOW = 400 # characters around a <pre> in which its wrapper (figure, div.highlighter-rouge) is looked for
  BEFORE = [
    %r{<figure\b[^>]*\bclass="highlight"[^>]*>\s*\z},
    %r{<div\b[^>]*\bclass="[^"]*\bhighlighter-rouge\b[^"]*"[^>]*>\s*<div class="highlight">\s*\z},
  ].freeze
  AFTER = [%r{\A\s*</figure>}, %r{\A\s*</div>\s*</div>}].freeze
  # As Python's html.parser reads HTML (the extraction's side): comments, script and style are not text.
  TOKEN = %r{<!--.*?(?:-->|\z)|<(script|style)\b.*?(?:</\1\s*>|\z)|<(/?)([a-zA-Z][a-zA-Z0-9-]*)([^>]*)>|[^<]+|<}mi
  ENTITY = /&(?:#(\d+)|#[xX](\h+)|([A-Za-z][A-Za-z0-9]*));/
  SPANS_ONLY = %r{\A(?:[^<]|<span class="[a-z0-9 -]+">|</span>)*\z}

  STATUSES = %w[verified failed skipped unverified].freeze
  CHANGED = "the code changed after it was checked"
  NO_LAYOUT = "its layout does not show {{ content }} as it is, so the snippet panels cannot be placed"
  NO_RESULT = "this code block has no check result: `invoke build` verifies it. (Code made by an {% include %} " \
              "or a Liquid variable cannot be verified: write it in the post.)"
  NO_BLOCK = "%s was checked, but the page does not show this code (Jekyll rendered something else). " \
             "Run `invoke build` again; if it persists, this is a bug of ours."

  Block = Struct.new(:start, :stop, :code, :sha256)

  module_function

  # ---- Reading the page: every outermost <pre> that holds <code> is a code block (Rouge's gutter aside).

  def blocks(html)
    found, depth, gutter, start, text, code = [], 0, nil, 0, +"", false
    html.scan(TOKEN) do
      token, closing, name, attrs = Regexp.last_match(0), Regexp.last_match(2), Regexp.last_match(3)&.downcase,
                                    Regexp.last_match(4)
      at = Regexp.last_match.begin(0)
      if name == "pre" && closing.empty?
        start, text, code = at, +"", false if depth.zero?
        depth += 1
        gutter ||= depth if attrs =~ /\bclass="[^"]*\blineno\b/
      elsif name == "pre" && depth.positive?
        gutter = nil if gutter == depth
        depth -= 1
        found << wrap(html, start, at + token.size, decode(text)) if depth.zero? && code
      elsif name == "code"
        code ||= depth.positive?
      elsif name.nil? && depth.positive? && gutter.nil? && !token.match?(/\A<(?:!--|script|style)/i)
        text << token
      end
    end
    found
  end

  # The block with its wrapper: the panel goes after Rouge's <figure> or <div class="highlighter-rouge">.
  def wrap(html, start, stop, code)
    head = html[[start - WINDOW, 0].max...start]
    BEFORE.each_with_index do |before, i|
      opening = head[before]
      closing = html[stop, WINDOW].to_s[AFTER[i]]
      next unless opening && closing

      start -= opening.size
      stop += closing.size
      break
    end
    code = code.gsub(/\r\n?/, "\n").sub(/\n+\z/, "")
    Block.new(start, stop, code, Digest::SHA256.hexdigest(code))
  end

  # Character references as a browser reads them (HTML 4's named ones: kramdown's table).
  def decode(text)
    names = Kramdown::Utils::Entities::ENTITY_MAP
    text.gsub(ENTITY) do
      found = Regexp.last_match
      point = found[1]&.to_i || found[2]&.hex || (names[found[3]].code_point if names.key?(found[3]))
      begin
        point ? [point].pack("U") : found[0]
      rescue RangeError
        found[0]
      end
    end
  end

  # ---- Matching blocks to results.

  # [[block, entry or nil]], and the entries no block took. Blocks and entries are aligned in page order
  # (so identical code matches in order), at the least cost: an entry without its block counts unless it is
  # conditional (inside a Liquid `if` or `for`), a block without its entry always counts. A block a `for`
  # shows again takes the conditional entry with its code once more.
  def match(blocks, entries)
    n, m = blocks.size, entries.size
    same = ->(i, j) { blocks[i].sha256 == entries[j]["sha256"] }
    spare = ->(j) { entries[j]["conditional"] ? 0 : 1 }
    cost = Array.new(n + 1) { Array.new(m + 1, 0) }
    n.downto(0) do |i|
      m.downto(0) do |j|
        options = []
        options << cost[i][j + 1] + spare.call(j) if j < m
        options << cost[i + 1][j] + 1 if i < n
        options << cost[i + 1][j + 1] if i < n && j < m && same.call(i, j)
        cost[i][j] = options.min || 0
      end
    end
    pairs, left, i, j = [], [], 0, 0
    while i < n || j < m
      if i < n && j < m && same.call(i, j) && cost[i][j] == cost[i + 1][j + 1]
        pairs << [blocks[i], entries[j]]
        i += 1
        j += 1
      elsif j < m && cost[i][j] == cost[i][j + 1] + spare.call(j)
        left << entries[j]
        j += 1
      else
        pairs << [blocks[i], entries.find { |e| e["conditional"] && e["sha256"] == blocks[i].sha256 }]
        i += 1
      end
    end
    taken = pairs.map(&:last)
    [pairs, left.reject { |e| e["conditional"] || taken.any? { |t| t.equal?(e) } }]
  end

  # ---- What the include receives (data only; its markup is the include's).

  def panel_data(entry, block, number, site)
    data = { "number" => number, "status" => "unverified", "code_sha256" => block.sha256 }
    return data.merge("id" => "snippet-block-#{number}", "problem" => CHANGED) unless entry

    data.merge!(entry.reject { |key, _| %w[output_html sha256].include?(key) })
    data["status"] = STATUSES.include?(entry["status"]) ? entry["status"] : "unverified"
    data["id"] = entry["index"] ? "snippet-#{entry['index']}" : "snippet-block-#{number}"
    if entry["file"]
      data["download"] = "#{site.config['baseurl']}/#{entry['file'].delete_prefix('/')}"
      data["download_name"] = File.basename(entry["file"])
    end
    output = entry["output"].to_s.sub(/\n+\z/, "")
    data.delete("output")
    unless output.strip.empty?
      data["output"] = output
      data["output_markup"] = output_markup(entry["output_html"], output)
      data["output_lines"] = output.count("\n") + 1
      data["fold"] = data["output_lines"] > FOLD_AFTER
    end
    data["after_text"] = ranges(entry["after"]) if entry["after"].is_a?(Array) && !entry["after"].empty?
    data
  end

  # Pygments markup from the Python side, used only if it is nothing but class spans around exactly the
  # recorded output: whatever a snippet printed can never become markup of its own.
  def output_markup(html, text)
    html = html.to_s.sub(/\n+\z/, "")
    shown = CGI.unescapeHTML(html.gsub(%r{</?span[^>]*>}, ""))
    html.match?(SPANS_ONLY) && shown == text && !html.empty? ? html : CGI.escapeHTML(text)
  end

  # [1, 2, 3, 5] -> "1–3, 5"
  def ranges(numbers)
    numbers.map(&:to_i).sort.uniq.slice_when { |a, b| b != a + 1 }
      .map { |run| run.size > 1 ? "#{run.first}\u2013#{run.last}" : run.first.to_s }.join(", ")
  end

  # ---- One build.

  def start(site, payload)
    @site, @payload, @problems, @results = site, payload, [], {}
    @registers = { :site => site, :cached_partials => {} }
    data = site.data["snippets"]
    (data.is_a?(Hash) ? data.values : []).each do |results|
      @results[results["post"]] = results if results.is_a?(Hash) && results["post"].is_a?(String)
    end
  end

  def preview?
    @site.config["serving"]
  end

  def place(post)
    return unless markdown?(post)

    content = post.content.to_s
    found = blocks(content)
    results = @results[post.relative_path]
    entries = results ? Array(results["snippets"]) : []
    return if found.empty? && entries.all? { |entry| entry["conditional"] }

    return problem(post, nil, NO_LAYOUT) unless post.output.include?(content)

    pairs, unmatched = match(found, entries)
    unmatched.each { |entry| problem(post, entry["line"], format(NO_BLOCK, entry["file"] || "a code block")) }
    page = content.dup
    pairs.each_with_index.reverse_each do |(block, entry), i|
      unless entry
        nth = pairs.first(i).count { |(other, _)| other.code == block.code } # the same code, earlier
        problem(post, line_of(post, block.code, nth), NO_RESULT)
      end
      panel = panel_data(entry, block, i + 1, @site)
      page.insert(block.stop, render("snippet-check.html", "snippet", panel, post))
    end
    if results && results["warning"]
      page.insert(0, render("snippet-warning.html", "warning", results["warning"], post))
    end
    post.output = post.output.gsub(content) { page } # wherever the layout shows the content
  end

  def markdown?(post)
    @site.find_converter_instance(Jekyll::Converters::Markdown).matches(post.extname)
  end

  def render(include, name, value, post)
    template = (@templates ||= {})[include] ||= Liquid::Template.parse("{% include #{include} #{name}=value %}")
    assigns = { "value" => value, "site" => @payload["site"], "page" => post.to_liquid }
    template.render!(assigns, :registers => @registers.merge(:page => assigns["page"]))
  end

  # The post line a block of code starts on: the post line holding its first non-blank line (the nth such
  # line when the same code stands in earlier blocks too).
  def line_of(post, code, nth = 0)
    first = code.lines.map(&:strip).find { |line| !line.empty? }
    return nil unless first

    File.foreach(post.path).with_index(1) do |line, number|
      next unless line.include?(first)
      return number if nth.zero?

      nth -= 1
    end
    nil
  rescue SystemCallError
    nil
  end

  def problem(post, line, text)
    where = line ? "#{post.relative_path}:#{line}" : post.relative_path
    if preview?
      Jekyll.logger.warn "Snippets:", "#{where}: #{text}"
    else
      @problems << "#{where}: #{text}"
    end
    nil
  end

  def finish
    return if @problems.empty?

    @problems.each { |text| Jekyll.logger.error "Snippets:", text }
    # No backtrace: the message says all there is to say.
    raise Jekyll::Errors::FatalException, "the page and the check results disagree (listed above)", []
  end

  # Snippet files are copied as they are, never read as pages (a Markdown or HTML example with front matter
  # would become a page of its own), and readable by a web server running as another user.
  class SnippetFile < Jekyll::StaticFile
    def data
      @data ||= super.merge("sitemap" => false) # an example.html is a download, not a page of the site
    end

    def write(dest)
      written = super
      File.chmod(0o666 & ~File.umask, destination(dest)) if written
      written
    end
  end

  class SnippetFiles < Jekyll::Generator
    safe true
    priority :highest

    def generate(site)
      root = site.in_source_dir("snippets")
      site.pages.reject! { |page| page.relative_path.start_with?("snippets/") }
      site.static_files.reject! { |file| file.relative_path.start_with?("/snippets/", "snippets/") }
      return unless File.directory?(root)

      refuse_link(root)
      Dir.children(root).sort.each do |folder|
        path = File.join(root, folder)
        refuse_link(path)
        next if folder.start_with?(".", "_") || !File.directory?(path)

        Dir.children(path).sort.each do |name|
          refuse_link(File.join(path, name))
          next if name.start_with?(".") || !File.file?(File.join(path, name))

          site.static_files << SnippetFile.new(site, site.source, "snippets/#{folder}", name)
        end
      end
    end

    def refuse_link(path)
      return unless File.symlink?(path)

      raise Jekyll::Errors::FatalException, "#{path} is a symbolic link: snippets/ holds only the files " \
                                            "snipcheck writes. Remove the link, then build again.", []
    end
  end
end

Jekyll::Hooks.register(:site, :pre_render) { |site, payload| VerifiedSnippets.start(site, payload) }
Jekyll::Hooks.register(:posts, :post_render) { |post| VerifiedSnippets.place(post) }
Jekyll::Hooks.register(:site, :post_render) { |_site, _payload| VerifiedSnippets.finish }
