"""The cached-exception leak from PRODUCT.md, small enough for a test.

An image service keeps its error instances as module globals and raises
the same instance for every bad image. Each raise chains the new traceback
onto the one the instance already carries, so every bad request leaves a
traceback -> frame -> request chain alive, one link deeper each time.
"""

import weakref


class ImageFormatError(Exception):
    pass


IMAGE_FORMAT_EXCEPTION = ImageFormatError("unsupported image format")

SEEN = []   # weak references to every request, oldest first (weakrefs hold nothing)


class ImageRequest:
    def __init__(self, data):
        self.data = data


def decode(data):
    raise IMAGE_FORMAT_EXCEPTION


def handle(data):
    req = ImageRequest(data)
    SEEN.append(weakref.ref(req))
    try:
        decode(req.data)
    except ImageFormatError:
        return None
    return req


def serve_bad_images(n, size=64):
    for _ in range(n):
        handle(b"\0" * size)


def reset():
    """Drop the chained tracebacks (and with them every request)."""
    IMAGE_FORMAT_EXCEPTION.__traceback__ = None
    del SEEN[:]
