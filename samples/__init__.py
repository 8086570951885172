"""Sample documents, analyzer definitions and the PDF writer that builds them (never deployed)."""
