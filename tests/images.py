"""Small real images for tests."""

import io

from PIL import Image


def png_bytes(size=(64, 48), colour=(200, 80, 40)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()
