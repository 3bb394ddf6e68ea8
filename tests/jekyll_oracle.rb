# A Jekyll that stays up: renders one post at a time as `jekyll build` would, so property tests can
# ask Jekyll about hundreds of posts without a build (and a Ruby start) for each.
#
# Usage: ruby jekyll_oracle.rb SITE  (SITE: a Jekyll source folder with _config.yml and _layouts/)
# Reads JSON lines on stdin, each the full text of a post; writes one JSON line per post:
# {"html": the post's page} or {"error": what Jekyll raised}.
require "json"
require "jekyll"

replies = $stdout.dup
replies.sync = true
$stdout = $stderr # Jekyll's logger writes to $stdout; keep the replies clean

Jekyll::PluginManager.require_from_bundler # as the jekyll command does: jekyll-feed and co. load too
source = File.expand_path(ARGV.fetch(0))
config = Jekyll.configuration("source" => source, "destination" => File.join(source, "_site"), "quiet" => true)
Jekyll.logger.adjust_verbosity(:quiet => true)
site = Jekyll::Site.new(config) # reset + setup: plugins, converters (kramdown), generators
path = site.in_source_dir("_posts", "2024-01-01-example.md")

# The parts of Site#process (reset, read, render) that make one post's page.
def render(site, path)
  site.reset # forgets the previous post, and the Liquid templates parsed for its path
  site.layouts = Jekyll::LayoutReader.new(site).read
  post = Jekyll::Document.new(path, :site => site, :collection => site.posts)
  post.read
  site.posts.docs << post
  html = Jekyll::Renderer.new(site, post, site.site_payload).run
  # jekyll-feed renders each post's excerpt into feed.xml, so an excerpt Jekyll cannot render fails
  # the build even when the page itself renders.
  post.data["excerpt"]&.output
  html
end

$stdin.each_line do |line|
  File.write(path, JSON.parse(line))
  reply = begin
    { "html" => render(site, path) }
  rescue StandardError, SyntaxError => e # the highlight tag raises Ruby's own SyntaxError
    { "error" => "#{e.class}: #{e.message}" }
  end
  replies.puts(JSON.generate(reply))
end
