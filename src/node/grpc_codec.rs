//! The codec of the node's gRPC server: tonic-prost's, except that a request that does
//! not decode is the client's fault (`INVALID_ARGUMENT "malformed request: …"`), not the
//! node's (`ProstCodec` answers `INTERNAL`, which clients retry and operators page on).
//!
//! `build.rs` generates the server with `codec_path` pointing here; the client keeps the
//! stock `ProstCodec`, so a malformed *answer* from a node stays the node's fault.

use prost::Message;
use tonic::Status;
use tonic::codec::{BufferSettings, Codec, DecodeBuf, Decoder};
use tonic_prost::{ProstCodec, ProstDecoder, ProstEncoder};

/// [`ProstCodec`] with decode errors mapped to `InvalidArgument`.
#[derive(Debug, Clone)]
pub struct ServerCodec<T, U>(ProstCodec<T, U>);

impl<T, U> Default for ServerCodec<T, U> {
    fn default() -> Self {
        Self(ProstCodec::default())
    }
}

impl<T, U> Codec for ServerCodec<T, U>
where
    T: Message + Send + 'static,
    U: Message + Default + Send + 'static,
{
    type Encode = T;
    type Decode = U;
    type Encoder = ProstEncoder<T>;
    type Decoder = RequestDecoder<U>;

    fn encoder(&mut self) -> Self::Encoder {
        self.0.encoder()
    }

    fn decoder(&mut self) -> Self::Decoder {
        RequestDecoder(self.0.decoder())
    }
}

/// Decodes a request message; see [`ServerCodec`].
#[derive(Debug, Clone, Default)]
pub struct RequestDecoder<U>(ProstDecoder<U>);

impl<U: Message + Default> Decoder for RequestDecoder<U> {
    type Item = U;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<U>, Status> {
        // Only prost's own decode errors reach here (framing and size errors are tonic's
        // and keep their codes), so every failure is a malformed message.
        self.0
            .decode(buf)
            .map_err(|status| malformed(status.message()))
    }

    fn buffer_settings(&self) -> BufferSettings {
        self.0.buffer_settings()
    }
}

/// The status for a request that is not a valid protobuf of its type.
pub(crate) fn malformed(why: &str) -> Status {
    Status::invalid_argument(format!("malformed request: {why}"))
}
