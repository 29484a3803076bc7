"""The HTML pages that are not REST answers: nginx error pages, maintenance, the home page and 404."""

from __future__ import annotations


def _nginx_page(title: str) -> str:
    return (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n"
        "<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    )


_MAINTENANCE = (
    '<!DOCTYPE html><html><head><meta charset="utf-8"><title>Maintenance</title></head>'
    "<body><h1>Briefly unavailable for scheduled maintenance. Check back in a minute.</h1></body></html>"
)
_HOME_PAGE = (
    '<!DOCTYPE html><html lang="en-US"><head><meta charset="UTF-8"><title>ISAO WooCommerce sandbox</title>'
    "</head><body><h1>ISAO WooCommerce sandbox</h1><p>The REST API is under /wp-json/wc/v3.</p></body></html>"
)
_NOT_FOUND_PAGE = (
    '<!DOCTYPE html><html lang="en-US"><head><meta charset="UTF-8"><title>Page not found</title></head>'
    "<body><h1>Oops! That page can&rsquo;t be found.</h1></body></html>"
)
