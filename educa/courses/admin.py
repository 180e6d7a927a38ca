from django.contrib import admin

from .models import Course, Module, Subject


@admin.register(Subject)
class SubjectAdmin(admin.ModelAdmin):
    list_display = ["title", "slug"]
    prepopulated_fields = {"slug": ("title",)}
    search_fields = ["title"]


class ModuleInline(admin.StackedInline):
    model = Module
    extra = 0


@admin.register(Course)
class CourseAdmin(admin.ModelAdmin):
    list_display = ["title", "subject", "owner", "created"]
    list_filter = ["created", "subject"]
    list_select_related = ["subject", "owner"]
    search_fields = ["title", "overview"]
    prepopulated_fields = {"slug": ("title",)}
    raw_id_fields = ["owner"]
    filter_horizontal = ["students"]
    inlines = [ModuleInline]
