//! Request body processors: URL-encoded, multipart, JSON, XML.
