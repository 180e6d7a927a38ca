from rest_framework.exceptions import NotFound
from rest_framework.pagination import PageNumberPagination


class StrictPageNumberPagination(PageNumberPagination):
    """DRF's page numbers, holding to what the schema says: ``page`` is a number.

    DRF reads an empty ``page`` as the first page and ``page=last`` as the
    last one; here both are a 404 like any other page that does not exist,
    as the catalogue's pages do. The page size stays the server's
    (``PAGE_SIZE``): no client parameter can ask for more.
    """

    last_page_strings = ()

    def get_page_number(self, request, paginator):
        number = request.query_params.get(self.page_query_param)
        if number == "":
            raise NotFound(self.invalid_page_message.format(page_number=number, message="No page number."))
        return super().get_page_number(request, paginator)
