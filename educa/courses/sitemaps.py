from django.contrib.sitemaps import Sitemap

from .models import Course


class CourseSitemap(Sitemap):
    """Every published course's detail page."""

    changefreq = "weekly"
    priority = 0.9

    def items(self):
        return Course.objects.order_by("pk")

    def lastmod(self, course):
        return course.created
