//! Checks of container headers that symphonia 0.5 trusts, run before it sees the bytes.
//!
//! Found by fuzzing (`bench/fuzz/run.sh`, target `audio_decode`; the inputs are kept in
//! `fuzz/corpus/audio_decode/regression-*`):
//! - a WAV whose `fmt ` chunk declares a sample rate of 0 makes symphonia's WAV reader panic
//!   (`TimeBase cannot have 0 numerator or denominator`), in release builds too;
//! - symphonia allocates a buffer of whatever length a metadata field declares before it
//!   reads it: a FLAC Vorbis comment or picture, or a WAV `LIST`/`INFO` entry, declaring
//!   4 GiB asks for 4 GiB (an abort where the allocation fails, as in a 32-bit wasm).
//!
//! Found by reading symphonia after that: a Vorbis setup header may declare a codebook of
//! 2^24 entries of 2^16 dimensions in a few bytes (the "ordered" length coding), and
//! symphonia then allocates entries × dimensions floats for its lookup table — 4 TiB, an
//! abort of the whole process. OGG pages carry checksums, so the fuzzer cannot mutate its
//! way there; the unit tests below build such a header.
//!
//! So lengths are checked against the bytes there are, zero rates and channel counts are
//! refused, and so are Vorbis lookup tables larger than [`MAX_VQ_VALUES`]. Everything else
//! passes, to be judged by symphonia.

use crate::AudioError;

/// Refuses headers symphonia would panic or over-allocate on.
pub(crate) fn check(bytes: &[u8]) -> Result<(), AudioError> {
    match (bytes.get(0..4), bytes.get(8..12)) {
        (Some(b"RIFF"), Some(b"WAVE")) => return check_wav_chunks(&bytes[12..]),
        (Some(b"fLaC"), _) => return check_flac_blocks(&bytes[4..]),
        (Some(b"OggS"), _) => return check_vorbis_setup(bytes),
        _ => {}
    }
    Ok(())
}

/// The largest Vorbis VQ lookup table accepted, in values (entries × dimensions): 16 MiB of
/// f32. The codebooks of libvorbis's encoder hold at most a few ten thousand.
pub(crate) const MAX_VQ_VALUES: u64 = 1 << 22;

/// Reassembles the first packets of the OGG stream that opens the file and checks the
/// codebooks of its Vorbis setup header (the third packet).
fn check_vorbis_setup(bytes: &[u8]) -> Result<(), AudioError> {
    let Some(setup) = ogg_packet(bytes, 2) else {
        return Ok(());
    };
    if setup.get(..7) != Some(b"\x05vorbis") {
        return Ok(());
    }
    // A header cut short or malformed is symphonia's to report.
    match check_codebooks(&mut Bits { data: &setup[7..], at: 0 }) {
        Err(Walk::TooLarge(values)) => Err(corrupt(format!(
            "the Vorbis setup header asks for a codebook of {values} values (at most {MAX_VQ_VALUES})"
        ))),
        _ => Ok(()),
    }
}

/// Packet `index` (0-based) of the first logical stream of an OGG file, from its pages.
fn ogg_packet(mut rest: &[u8], index: usize) -> Option<Vec<u8>> {
    let mut serial = None;
    let mut packet = Vec::new();
    let mut seen = 0;
    while rest.get(..4) == Some(b"OggS") {
        let header = rest.get(..27)?;
        let page_serial = u32_le(&header[14..18]);
        let segments = usize::from(header[26]);
        let lacing = rest.get(27..27 + segments)?;
        let mut body = rest.get(27 + segments..)?;
        rest = body.get(lacing.iter().map(|&l| usize::from(l)).sum::<usize>()..)?;
        if *serial.get_or_insert(page_serial) != page_serial {
            continue;
        }
        for &len in lacing {
            let len = usize::from(len);
            let (part, after) = body.split_at(len.min(body.len()));
            body = after;
            if seen == index {
                packet.extend_from_slice(part);
            }
            if len < 255 {
                if seen == index {
                    return Some(packet);
                }
                seen += 1;
            }
        }
    }
    (seen == index && !packet.is_empty()).then_some(packet)
}

/// Why a walk of the codebooks stopped.
enum Walk {
    /// The bits ran out or the structure is not a codebook's.
    Stop,
    /// A lookup table of this many values.
    TooLarge(u64),
}

/// Vorbis's bit packing: least significant bit first.
struct Bits<'a> {
    data: &'a [u8],
    at: usize,
}

impl Bits<'_> {
    fn read(&mut self, n: u32) -> Result<u64, Walk> {
        let mut value = 0u64;
        for i in 0..n {
            let byte = *self.data.get(self.at / 8).ok_or(Walk::Stop)?;
            value |= u64::from((byte >> (self.at % 8)) & 1) << i;
            self.at += 1;
        }
        Ok(value)
    }

    fn skip(&mut self, n: u64) -> Result<(), Walk> {
        let at = (self.at as u64).checked_add(n).ok_or(Walk::Stop)?;
        if at > self.data.len() as u64 * 8 {
            return Err(Walk::Stop);
        }
        self.at = at as usize;
        Ok(())
    }
}

/// Bits needed for `n` (Vorbis's `ilog`).
fn ilog(n: u64) -> u32 {
    u64::BITS - n.leading_zeros()
}

/// Walks the codebooks (Vorbis I spec, 3.2.1) the way a decoder reads them.
fn check_codebooks(bits: &mut Bits<'_>) -> Result<(), Walk> {
    let count = bits.read(8)? + 1;
    for _ in 0..count {
        if bits.read(24)? != 0x56_43_42 {
            return Err(Walk::Stop);
        }
        let dimensions = bits.read(16)?;
        let entries = bits.read(24)?;
        if bits.read(1)? == 1 {
            // Ordered: runs of entries per length.
            let mut entry = 0;
            bits.read(5)?;
            while entry < entries {
                entry += bits.read(ilog(entries - entry))?;
            }
        } else if bits.read(1)? == 1 {
            // Sparse: a flag per entry, then a length for the used ones.
            for _ in 0..entries {
                if bits.read(1)? == 1 {
                    bits.read(5)?;
                }
            }
        } else {
            bits.skip(5 * entries)?;
        }
        let lookup = bits.read(4)?;
        if lookup == 1 || lookup == 2 {
            let values = entries * dimensions;
            if values > MAX_VQ_VALUES {
                return Err(Walk::TooLarge(values));
            }
            bits.skip(64)?;
            let value_bits = bits.read(4)? + 1;
            bits.read(1)?;
            let multiplicands = if lookup == 1 { lookup1_values(entries, dimensions) } else { values };
            bits.skip(multiplicands * value_bits)?;
        } else if lookup != 0 {
            return Err(Walk::Stop);
        }
    }
    Ok(())
}

/// The largest `v` with `v^dimensions <= entries`.
fn lookup1_values(entries: u64, dimensions: u64) -> u64 {
    if dimensions == 0 {
        return 0;
    }
    let mut v = (entries as f64).powf(1.0 / dimensions as f64).floor() as u64;
    let fits =
        |v: u64| u32::try_from(dimensions).ok().and_then(|d| v.checked_pow(d)).is_some_and(|p| p <= entries);
    while v > 0 && !fits(v) {
        v -= 1;
    }
    while fits(v + 1) {
        v += 1;
    }
    v
}

fn corrupt(what: impl Into<String>) -> AudioError {
    AudioError::Corrupt(what.into())
}

fn u32_le(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

fn u32_be(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

/// Walks the chunks before `data`, where symphonia's WAV reader stops reading headers.
fn check_wav_chunks(mut rest: &[u8]) -> Result<(), AudioError> {
    while let (Some(id), Some(size)) = (rest.get(0..4), rest.get(4..8)) {
        let size = u32_le(size) as usize;
        let body = &rest[8..];
        if id == b"data" {
            break;
        }
        let Some(chunk) = body.get(..size) else {
            return Err(corrupt(format!(
                "the WAV chunk '{}' declares {size} bytes but the file ends first",
                String::from_utf8_lossy(id)
            )));
        };
        match id {
            b"fmt " => check_fmt(chunk)?,
            b"LIST" => check_list(chunk)?,
            _ => {}
        }
        // Chunks are padded to an even size.
        match body.get(size + (size & 1)..) {
            Some(next) => rest = next,
            None => break,
        }
    }
    Ok(())
}

/// A `LIST` chunk: a form type, then sub-chunks that must fit in it.
fn check_list(list: &[u8]) -> Result<(), AudioError> {
    let mut rest = list.get(4..).unwrap_or_default();
    while let Some(size) = rest.get(4..8) {
        let size = u32_le(size) as usize;
        let body = &rest[8..];
        if size > body.len() {
            return Err(corrupt(format!(
                "a WAV LIST entry declares {size} bytes but its chunk holds {}",
                body.len()
            )));
        }
        match body.get(size + (size & 1)..) {
            Some(next) => rest = next,
            None => break,
        }
    }
    Ok(())
}

/// Walks the metadata blocks of a FLAC stream (after `fLaC`) up to the last one.
fn check_flac_blocks(mut rest: &[u8]) -> Result<(), AudioError> {
    while let Some(header) = rest.get(0..4) {
        let (last, kind) = (header[0] & 0x80 != 0, header[0] & 0x7f);
        let len = u32_be(&[0, header[1], header[2], header[3]]) as usize;
        let body = &rest[4..];
        let block = &body[..len.min(body.len())];
        match kind {
            4 => check_vorbis_comment(block)?,
            6 => check_flac_picture(block)?,
            _ => {}
        }
        if last {
            break;
        }
        match body.get(len..) {
            Some(next) => rest = next,
            None => break,
        }
    }
    Ok(())
}

/// Reads `n` length-prefixed fields; each length must fit in what is left of `block`.
struct Fields<'a> {
    rest: &'a [u8],
    what: &'static str,
}

impl<'a> Fields<'a> {
    fn skip(&mut self, n: usize) -> Result<(), AudioError> {
        self.rest = self.rest.get(n..).ok_or_else(|| corrupt(format!("the {} is cut short", self.what)))?;
        Ok(())
    }

    fn number(&mut self, little_endian: bool) -> Result<usize, AudioError> {
        let b = self.rest.get(..4).ok_or_else(|| corrupt(format!("the {} is cut short", self.what)))?;
        let n = if little_endian { u32_le(b) } else { u32_be(b) } as usize;
        self.rest = &self.rest[4..];
        Ok(n)
    }

    /// A length, then that many bytes.
    fn field(&mut self, little_endian: bool) -> Result<(), AudioError> {
        let len = self.number(little_endian)?;
        if len > self.rest.len() {
            return Err(corrupt(format!(
                "a field of the {} declares {len} bytes but {} are left",
                self.what,
                self.rest.len()
            )));
        }
        self.skip(len)
    }
}

/// A Vorbis comment block: vendor string, count, then length-prefixed comments (LE).
fn check_vorbis_comment(block: &[u8]) -> Result<(), AudioError> {
    let mut fields = Fields { rest: block, what: "FLAC Vorbis comment" };
    fields.field(true)?;
    let count = fields.number(true)?;
    for _ in 0..count {
        fields.field(true)?;
    }
    Ok(())
}

/// A picture block (BE): type, MIME type, description, four numbers, then the image.
fn check_flac_picture(block: &[u8]) -> Result<(), AudioError> {
    let mut fields = Fields { rest: block, what: "FLAC picture" };
    fields.skip(4)?;
    fields.field(false)?;
    fields.field(false)?;
    fields.skip(16)?;
    fields.field(false)
}

fn check_fmt(fmt: &[u8]) -> Result<(), AudioError> {
    // Shorter chunks are refused by symphonia itself.
    let (Some(channels), Some(rate)) = (fmt.get(2..4), fmt.get(4..8)) else {
        return Ok(());
    };
    let channels = u16::from_le_bytes([channels[0], channels[1]]);
    let rate = u32_le(rate);
    if rate == 0 {
        return Err(AudioError::Corrupt("the WAV header declares a sample rate of 0 Hz".into()));
    }
    if channels == 0 {
        return Err(AudioError::Corrupt("the WAV header declares 0 channels".into()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wav(channels: u16, rate: u32) -> Vec<u8> {
        let mut fmt = Vec::new();
        fmt.extend_from_slice(&1u16.to_le_bytes());
        fmt.extend_from_slice(&channels.to_le_bytes());
        fmt.extend_from_slice(&rate.to_le_bytes());
        fmt.extend_from_slice(&(rate * 2 * u32::from(channels)).to_le_bytes());
        fmt.extend_from_slice(&(2 * channels).to_le_bytes());
        fmt.extend_from_slice(&16u16.to_le_bytes());
        let mut out = b"RIFF\0\0\0\0WAVE".to_vec();
        // An odd-sized chunk first, to walk over its padding byte.
        out.extend_from_slice(b"LIST\x03\0\0\0abc\0");
        out.extend_from_slice(b"fmt \x10\0\0\0");
        out.extend_from_slice(&fmt);
        out.extend_from_slice(b"data\x04\0\0\0\0\0\0\0");
        out
    }

    #[test]
    fn zero_rates_and_channels_are_refused_and_the_rest_passes() {
        assert!(check(&wav(1, 22050)).is_ok());
        let err = check(&wav(1, 0)).unwrap_err().to_string();
        assert!(err.contains("sample rate of 0 Hz"), "{err}");
        let err = check(&wav(0, 8000)).unwrap_err().to_string();
        assert!(err.contains("0 channels"), "{err}");
        // Not WAV, or cut short inside a chunk header: for symphonia to judge.
        for bytes in [&b"fLaC"[..], b"RIFF", b"OggS\0\0", &wav(1, 0)[..30]] {
            assert!(check(bytes).is_ok());
        }
        let err = check(b"RIFF\0\0\0\0WAVEfmt \xff\xff\xff\xff").unwrap_err().to_string();
        assert!(err.contains("declares 4294967295 bytes"), "{err}");
    }

    /// Vorbis bit packing, least significant bit first.
    #[derive(Default)]
    struct BitWriter {
        bytes: Vec<u8>,
        at: usize,
    }

    impl BitWriter {
        fn put(&mut self, value: u64, n: u32) -> &mut Self {
            for i in 0..n {
                if self.at.is_multiple_of(8) {
                    self.bytes.push(0);
                }
                let last = self.bytes.len() - 1;
                self.bytes[last] |= (((value >> i) & 1) as u8) << (self.at % 8);
                self.at += 1;
            }
            self
        }
    }

    /// An OGG page holding these packets (checksum left 0: these checks never read it).
    fn ogg(packets: &[&[u8]]) -> Vec<u8> {
        let mut lacing = Vec::new();
        for p in packets {
            lacing.extend(std::iter::repeat_n(255u8, p.len() / 255));
            lacing.push((p.len() % 255) as u8);
        }
        let mut out = b"OggS\0\x02".to_vec();
        out.extend_from_slice(&[0; 8]);
        out.extend_from_slice(&7u32.to_le_bytes());
        out.extend_from_slice(&[0; 8]);
        out.push(lacing.len() as u8);
        out.extend_from_slice(&lacing);
        for p in packets {
            out.extend_from_slice(p);
        }
        out
    }

    fn vorbis(dimensions: u64, entries: u64, lookup: u64) -> Vec<u8> {
        let mut w = BitWriter::default();
        w.put(0, 8).put(0x56_43_42, 24).put(dimensions, 16).put(entries, 24);
        // Ordered lengths: one run of every entry at length 1.
        w.put(1, 1).put(0, 5).put(entries, ilog(entries));
        w.put(lookup, 4);
        if lookup != 0 {
            w.put(0, 32).put(0, 32).put(0, 4).put(0, 1);
            let n = if lookup == 1 { lookup1_values(entries, dimensions) } else { entries * dimensions };
            // The refused ones stop before their multiplicands: write few.
            for _ in 0..n.min(1 << 12) {
                w.put(1, 1);
            }
        }
        let mut setup = b"\x05vorbis".to_vec();
        setup.extend_from_slice(&w.bytes);
        // A setup packet longer than a lacing value, so it spans segments.
        setup.resize(setup.len().max(300), 0);
        let ident = [&b"\x01vorbis"[..], &[0; 23]].concat();
        ogg(&[&ident, b"\x03vorbis\0\0\0\0\0\0\0\0\x01", &setup])
    }

    #[test]
    fn the_walk_reads_every_codebook_of_a_real_setup_header() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tone.ogg");
        let file = std::fs::read(path).expect("fixture");
        let setup = ogg_packet(&file, 2).expect("a setup packet");
        assert_eq!(&setup[..7], b"\x05vorbis");
        let mut bits = Bits { data: &setup[7..], at: 0 };
        assert!(check_codebooks(&mut bits).is_ok(), "stopped at bit {}", bits.at);
        assert!(bits.at > 1000 * 8, "{} bits of codebooks", bits.at);
    }

    #[test]
    fn vorbis_lookup_tables_are_bounded() {
        assert!(check(&vorbis(2, 16, 1)).is_ok());
        assert!(check(&vorbis(4, 81, 2)).is_ok());
        assert!(check(&vorbis(8, 1 << 10, 0)).is_ok(), "no lookup table, no bound");
        let err = check(&vorbis(65_535, (1 << 24) - 1, 2)).unwrap_err().to_string();
        assert!(err.contains("codebook of 1099494785025 values"), "{err}");
        assert!(check(&vorbis(16, 1 << 20, 1)).is_err());
        assert_eq!(lookup1_values(81, 4), 3);
        assert_eq!(lookup1_values(80, 4), 2);
        assert_eq!(lookup1_values(1 << 24, 65_535), 1);
        assert_eq!(ogg_packet(&vorbis(2, 16, 1), 1).as_deref(), Some(&b"\x03vorbis\0\0\0\0\0\0\0\0\x01"[..]));
    }

    #[test]
    fn metadata_lengths_must_fit() {
        let mut list = b"RIFF\0\0\0\0WAVELIST\x10\0\0\0INFOINAM\xff\xff\xff\x7fabcd".to_vec();
        assert!(check(&list).unwrap_err().to_string().contains("LIST entry declares"));
        list[28..32].copy_from_slice(&4u32.to_le_bytes());
        assert!(check(&list).is_ok());

        let flac = |kind: u8, block: &[u8]| {
            let mut out = b"fLaC".to_vec();
            out.push(0x80 | kind);
            out.extend_from_slice(&(block.len() as u32).to_be_bytes()[1..]);
            out.extend_from_slice(block);
            out
        };
        // Vendor "ab", one comment "x=1".
        let good = b"\x02\0\0\0ab\x01\0\0\0\x03\0\0\0x=1";
        assert!(check(&flac(4, good)).is_ok());
        let mut huge = good.to_vec();
        huge[10..14].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(check(&flac(4, &huge)).unwrap_err().to_string().contains("Vorbis comment"));
        let mut many = good.to_vec();
        many[6..10].copy_from_slice(&1_000_000u32.to_le_bytes());
        assert!(check(&flac(4, &many)).is_err());

        let mut picture = vec![0, 0, 0, 3, 0, 0, 0, 3];
        picture.extend_from_slice(b"png\0\0\0\0");
        picture.extend_from_slice(&[0; 16]);
        picture.extend_from_slice(&[0, 0, 0, 2, 1, 2]);
        assert!(check(&flac(6, &picture)).is_ok());
        let n = picture.len();
        picture[n - 6..n - 2].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(check(&flac(6, &picture)).unwrap_err().to_string().contains("FLAC picture"));
    }
}
