"""The MIME types the app recognises, by name.

``content_types`` sniffs files into these names and the API-version profiles
(``api_versions``) list, per name, how large a file Content Understanding accepts. They live
apart so that both can use them without importing each other.
"""

from __future__ import annotations

PDF = "application/pdf"
TIFF = "image/tiff"
JPEG = "image/jpeg"
PNG = "image/png"
BMP = "image/bmp"
HEIF = "image/heif"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
ZIP = "application/zip"
OLE = "application/x-ole-storage"
MSG = "application/vnd.ms-outlook"
RTF = "application/rtf"
TEXT = "text/plain"
MARKDOWN = "text/markdown"
HTML = "text/html"
XML = "application/xml"
EML = "message/rfc822"

IMAGES_AND_PDF = (PDF, TIFF, JPEG, PNG, BMP, HEIF)
OFFICE = (DOCX, XLSX, PPTX)
TEXT_FORMATS = (TEXT, MARKDOWN, HTML, XML, RTF, EML, MSG)
