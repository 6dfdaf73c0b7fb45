//! The request and response data of one exchange, as ModSecurity v2 shapes
//! them.

use crs_compiler::ir::action::BodyProcessor;

/// A name/value pair of a collection, in arrival order.
#[derive(Clone, Debug, Default)]
pub(crate) struct Pair {
    pub(crate) name: Vec<u8>,
    pub(crate) value: Vec<u8>,
}

impl Pair {
    pub(crate) fn new(name: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) -> Pair {
        Pair {
            name: name.into(),
            value: value.into(),
        }
    }

    /// An empty pair, in the buffers of a spare one when `spare` has one
    /// (see [`Pair::keep_buffers`]).
    pub(crate) fn take_spare(spare: &mut Vec<Pair>) -> Pair {
        spare.pop().unwrap_or_default()
    }

    /// Empties up to `room` of `pairs` into `spare`, for
    /// [`Pair::take_spare`], without their buffers longer than `bytes`.
    /// The same requests make the same pairs in the same order: the first
    /// pair taken next gets the buffers of the first one kept. A pair with
    /// an oversized buffer keeps its place, without that buffer: dropping
    /// it instead gave every later pair its neighbour's buffers, which
    /// then grew (CRS's TX prelude holds a few lists longer than 256
    /// bytes; seven reallocations per exchange, 1 % of a benign GET).
    pub(crate) fn keep_buffers(
        pairs: impl Iterator<Item = Pair>,
        spare: &mut Vec<Pair>,
        room: usize,
        bytes: usize,
    ) {
        let emptied = |mut buffer: Vec<u8>| {
            if buffer.capacity() > bytes {
                return Vec::new();
            }
            buffer.clear();
            buffer
        };
        let at = spare.len();
        spare.extend(pairs.take(room).map(|p| Pair {
            name: emptied(p.name),
            value: emptied(p.value),
        }));
        // Taken from the end.
        if let Some(new) = spare.get_mut(at..) {
            new.reverse();
        }
    }
}

/// One uploaded file of a multipart body.
#[derive(Clone, Debug, Default)]
pub(crate) struct FileEntry {
    /// The form field name.
    pub(crate) field: Vec<u8>,
    /// The client-supplied file name.
    pub(crate) filename: Vec<u8>,
    /// Size in bytes.
    pub(crate) size: usize,
}

/// Everything the rules can read about the exchange.
#[derive(Clone, Debug, Default)]
pub(crate) struct ExchangeData {
    pub(crate) remote_addr: Vec<u8>,
    pub(crate) remote_port: u16,
    pub(crate) server_addr: Vec<u8>,
    pub(crate) server_port: u16,
    pub(crate) server_name: Vec<u8>,
    pub(crate) unique_id: Vec<u8>,

    pub(crate) method: Vec<u8>,
    /// The request target exactly as sent (`REQUEST_URI_RAW`).
    pub(crate) uri_raw: Vec<u8>,
    pub(crate) protocol: Vec<u8>,
    pub(crate) request_line: Vec<u8>,
    /// Path of the parsed target (`REQUEST_FILENAME`), not decoded.
    pub(crate) path: Vec<u8>,
    /// Query of the parsed target (`QUERY_STRING`), not decoded.
    pub(crate) query: Option<Vec<u8>>,
    /// `REQUEST_URI`: path plus `?query`, without scheme and host.
    pub(crate) request_uri: Vec<u8>,
    pub(crate) basename: Vec<u8>,

    pub(crate) request_headers: Vec<Pair>,
    pub(crate) cookies: Vec<Pair>,
    pub(crate) args_get: Vec<Pair>,
    pub(crate) args_post: Vec<Pair>,
    pub(crate) urlencoded_error: bool,

    pub(crate) request_body: Vec<u8>,
    /// `REQUEST_BODY` is only populated by the URLENCODED processor or when
    /// forced (`ctl:forceRequestBodyVariable`), as in ModSecurity v2.
    pub(crate) request_body_visible: bool,
    pub(crate) request_body_length: usize,
    pub(crate) reqbody_processor: Option<BodyProcessor>,
    pub(crate) reqbody_error: bool,
    pub(crate) reqbody_error_msg: Vec<u8>,
    pub(crate) inbound_data_error: bool,

    pub(crate) files: Vec<FileEntry>,
    pub(crate) files_combined_size: usize,
    pub(crate) multipart_part_headers: Vec<Pair>,
    pub(crate) multipart_names: Vec<Vec<u8>>,
    pub(crate) multipart_filenames: Vec<Vec<u8>>,
    /// The multipart processor's flags (`MULTIPART_*`), when it ran.
    pub(crate) multipart: Option<crate::body::multipart::Flags>,

    /// `XML:/*`: the string value of the document's root element.
    pub(crate) xml_text: Option<Vec<u8>>,
    /// `XML://@*`: every attribute value.
    pub(crate) xml_attributes: Vec<Vec<u8>>,

    pub(crate) response_status: Option<u16>,
    pub(crate) response_protocol: Vec<u8>,
    pub(crate) response_headers: Vec<Pair>,
    pub(crate) response_body: Vec<u8>,
    pub(crate) response_body_visible: bool,
    pub(crate) outbound_data_error: bool,
}

impl ExchangeData {
    /// First request header with this name (case-insensitive).
    pub(crate) fn request_header(&self, name: &str) -> Option<&[u8]> {
        self.request_headers
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name.as_bytes()))
            .map(|p| p.value.as_slice())
    }

    /// First response header with this name (case-insensitive).
    pub(crate) fn response_header(&self, name: &str) -> Option<&[u8]> {
        self.response_headers
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name.as_bytes()))
            .map(|p| p.value.as_slice())
    }

    /// `ARGS`: GET arguments, then POST arguments.
    pub(crate) fn args(&self) -> impl Iterator<Item = &Pair> {
        self.args_get.iter().chain(self.args_post.iter())
    }

    /// `ARGS_COMBINED_SIZE`: total length of argument names and values.
    pub(crate) fn args_combined_size(&self) -> usize {
        self.args().map(|p| p.name.len() + p.value.len()).sum()
    }
}
