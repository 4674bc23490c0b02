"""A branch's view for the library's own web site: free today and the next courses, made to
sit in an iframe (frame-ancestors from EMBED_FRAME_ANCESTORS, no cookies)."""
