# jekyll-seo-tag reads `image`; posts name their social card `share-img`.
Jekyll::Hooks.register :site, :post_read do |site|
  site.posts.docs.each do |post|
    post.data["image"] ||= post.data["share-img"] if post.data["share-img"]
  end
end
