/*
 * Course form: suggest the slug from the title while the instructor has not
 * typed one. Only lowercase ASCII letters, digits and hyphens, as Django's
 * slug validation expects; the server still validates whatever is sent.
 */
(function () {
  "use strict";

  function slugify(text) {
    return text
      .normalize("NFKD")
      .replace(/[\u0300-\u036f]/g, "")
      .toLowerCase()
      .replace(/[^a-z0-9\s-]/g, "")
      .trim()
      .replace(/[\s-]+/g, "-")
      .slice(0, 200);
  }

  function init() {
    var title = document.querySelector("input[name=title]");
    var slug = document.querySelector("input[name=slug]");
    if (!title || !slug) {
      return;
    }
    var touched = slug.value !== "";
    slug.addEventListener("input", function () {
      touched = slug.value !== "";
    });
    title.addEventListener("input", function () {
      if (!touched) {
        slug.value = slugify(title.value);
      }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
