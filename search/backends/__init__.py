from functools import lru_cache

from django.conf import settings
from django.utils.module_loading import import_string


@lru_cache(maxsize=4)
def _backend(path: str):
    return import_string(path)()


def get_backend():
    """The configured backend (TONGXIN_SEARCH_BACKEND), built once per process."""
    return _backend(settings.TONGXIN_SEARCH_BACKEND)
