// A minimal fragmented-MP4 writer for one AAC-LC audio track (HLS fMP4 / CMAF
// style): an init segment (ftyp + moov with mvex) and media segments
// (moof + mdat) whose tfdt carries the absolute decode time, so segments made
// by separate encodes play back to back as one stream. Also the ADTS parsing
// that turns ffmpeg's encoder output into raw access units.

export interface AdtsFrame {
  /** Raw AAC access unit, ADTS header removed. */
  data: Buffer;
  sampleRate: number;
  channels: number;
  /** MPEG-4 audio object type (2 = AAC-LC). */
  objectType: number;
}

const ADTS_RATES = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];

/** Splits an ADTS stream into access units; throws on a broken stream. */
export function parseAdts(buf: Buffer): AdtsFrame[] {
  const frames: AdtsFrame[] = [];
  let i = 0;
  while (i < buf.length) {
    if (i + 7 > buf.length || buf[i] !== 0xff || (buf[i + 1] & 0xf6) !== 0xf0) {
      throw new Error(`ADTS: no sync word at byte ${i} of ${buf.length}`);
    }
    const protectionAbsent = buf[i + 1] & 1;
    const objectType = (buf[i + 2] >> 6) + 1;
    const rateIndex = (buf[i + 2] >> 2) & 0x0f;
    const channels = ((buf[i + 2] & 1) << 2) | (buf[i + 3] >> 6);
    const length = ((buf[i + 3] & 3) << 11) | (buf[i + 4] << 3) | (buf[i + 5] >> 5);
    const blocks = (buf[i + 6] & 3) + 1;
    const header = protectionAbsent ? 7 : 9;
    if (blocks !== 1) throw new Error(`ADTS: ${blocks} raw data blocks in one frame are not supported`);
    if (length < header || i + length > buf.length) throw new Error(`ADTS: frame at byte ${i} overruns the buffer`);
    frames.push({ data: buf.subarray(i + header, i + length), sampleRate: ADTS_RATES[rateIndex] ?? 0, channels, objectType });
    i += length;
  }
  return frames;
}

// ---- box writing

export function u8(n: number) {
  return Buffer.from([n & 0xff]);
}
export function u16(n: number) {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}
export function u24(n: number) {
  return Buffer.from([(n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff]);
}
export function u32(n: number) {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}
export function u64(n: number) {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
}
export function str(s: string) {
  return Buffer.from(s, 'latin1');
}

export function box(type: string, ...payload: Buffer[]): Buffer {
  const body = Buffer.concat(payload);
  return Buffer.concat([u32(body.length + 8), str(type), body]);
}

export function fullBox(type: string, version: number, flags: number, ...payload: Buffer[]): Buffer {
  return box(type, u8(version), u24(flags), ...payload);
}

/** An MPEG-4 descriptor with a one-byte length (all ours are < 128 bytes). */
function descriptor(tag: number, ...payload: Buffer[]): Buffer {
  const body = Buffer.concat(payload);
  if (body.length > 127) throw new Error('descriptor too long');
  return Buffer.concat([u8(tag), u8(body.length), body]);
}

export const MATRIX = [0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000];
export const TRACK_ID = 1;

export interface AudioTrackConfig {
  sampleRate: number;
  channels: number;
  /** For the esds; informative. */
  bitrate: number;
  /** Samples per access unit (1024 for AAC-LC). */
  frameSamples: number;
}

/** AudioSpecificConfig: AAC-LC, rate index, channel configuration. */
export function audioSpecificConfig(sampleRate: number, channels: number): Buffer {
  const idx = ADTS_RATES.indexOf(sampleRate);
  if (idx < 0) throw new Error(`no AAC sampling frequency index for ${sampleRate} Hz`);
  const v = (2 << 11) | (idx << 7) | (channels << 3);
  return u16(v);
}

/** The track's sample description: an mp4a entry whose esds carries the AudioSpecificConfig. */
export function mp4aSampleEntry(c: AudioTrackConfig): Buffer {
  const esds = fullBox(
    'esds',
    0,
    0,
    descriptor(
      0x03,
      u16(0),
      u8(0),
      descriptor(
        0x04,
        u8(0x40 /* MPEG-4 audio */),
        u8((0x05 << 2) | 1 /* audio stream */),
        u24(0),
        u32(c.bitrate),
        u32(c.bitrate),
        descriptor(0x05, audioSpecificConfig(c.sampleRate, c.channels)),
      ),
      descriptor(0x06, u8(0x02)),
    ),
  );
  const mp4a = box(
    'mp4a',
    Buffer.alloc(6),
    u16(1), // reserved, data_reference_index
    u32(0),
    u32(0),
    u16(c.channels),
    u16(16),
    u16(0),
    u16(0),
    u32(c.sampleRate * 65536),
    esds,
  );
  return mp4a;
}

/** A time field of a version-0 (32-bit) or version-1 (64-bit) box. */
export const timeField = (version: number, n: number) => (version ? u64(n) : u32(n));

/**
 * mvhd and tkhd of a one-track movie lasting `duration` units of
 * `timescale` (version 1, 64-bit times, when the duration needs it). The
 * init segment's pair says 0: its length is in its fragments.
 */
export function movieAndTrackHeaders(timescale: number, duration: number): { mvhd: Buffer; tkhd: Buffer } {
  const v = duration > 0xffffffff ? 1 : 0;
  const t = (n: number) => timeField(v, n);
  const mvhd = fullBox(
    'mvhd',
    v,
    0,
    t(0),
    t(0), // creation, modification
    u32(timescale),
    t(duration),
    u32(0x00010000),
    u16(0x0100),
    u16(0),
    u32(0),
    u32(0),
    ...MATRIX.map(u32),
    ...Array.from({ length: 6 }, () => u32(0)),
    u32(TRACK_ID + 1),
  );
  const tkhd = fullBox(
    'tkhd',
    v,
    3,
    t(0),
    t(0),
    u32(TRACK_ID),
    u32(0),
    t(duration),
    u32(0),
    u32(0),
    u16(0),
    u16(0),
    u16(0x0100),
    u16(0),
    ...MATRIX.map(u32),
    u32(0),
    u32(0),
  );
  return { mvhd, tkhd };
}

/** The init segment (EXT-X-MAP): ftyp + moov describing one AAC-LC track, timescale = sample rate. */
export function initSegment(c: AudioTrackConfig): Buffer {
  const ftyp = box('ftyp', str('iso6'), u32(0), str('iso6'), str('mp41'));
  const { mvhd, tkhd } = movieAndTrackHeaders(1000, 0);
  const mdhd = fullBox('mdhd', 0, 0, u32(0), u32(0), u32(c.sampleRate), u32(0), u16(0x55c4 /* und */), u16(0));
  const hdlr = fullBox('hdlr', 0, 0, u32(0), str('soun'), u32(0), u32(0), u32(0), str('SoundHandler\0'));
  const mp4a = mp4aSampleEntry(c);
  const stbl = box(
    'stbl',
    fullBox('stsd', 0, 0, u32(1), mp4a),
    fullBox('stts', 0, 0, u32(0)),
    fullBox('stsc', 0, 0, u32(0)),
    fullBox('stsz', 0, 0, u32(0), u32(0)),
    fullBox('stco', 0, 0, u32(0)),
  );
  const minf = box('minf', fullBox('smhd', 0, 0, u16(0), u16(0)), box('dinf', fullBox('dref', 0, 0, u32(1), fullBox('url ', 0, 1))), stbl);
  const trak = box('trak', tkhd, box('mdia', mdhd, hdlr, minf));
  const mvex = box('mvex', fullBox('trex', 0, 0, u32(TRACK_ID), u32(1), u32(c.frameSamples), u32(0), u32(0)));
  return Buffer.concat([ftyp, box('moov', mvhd, trak, mvex)]);
}

/**
 * One media segment: moof (mfhd sequence number, tfhd, tfdt = decode time of
 * the first frame in samples, trun with per-frame sizes) + mdat.
 */
export function mediaSegment(opts: { sequence: number; baseDecodeTime: number; frames: Buffer[]; frameSamples: number }): Buffer {
  const n = opts.frames.length;
  const build = (dataOffset: number) =>
    box(
      'moof',
      fullBox('mfhd', 0, 0, u32(opts.sequence)),
      box(
        'traf',
        // default-base-is-moof | default-sample-duration-present
        fullBox('tfhd', 0, 0x020008, u32(TRACK_ID), u32(opts.frameSamples)),
        fullBox('tfdt', 1, 0, u64(opts.baseDecodeTime)),
        // data-offset-present | sample-size-present
        fullBox('trun', 0, 0x000201, u32(n), u32(dataOffset), ...opts.frames.map((f) => u32(f.length))),
      ),
    );
  const moofLength = build(0).length;
  const moof = build(moofLength + 8);
  return Buffer.concat([moof, box('mdat', ...opts.frames)]);
}

// ---- reading back (checks and tests)

export interface SegmentInfo {
  sequence: number;
  baseDecodeTime: number;
  sampleCount: number;
  /** Sum of sample durations (trun or tfhd default). */
  durationSamples: number;
}

function* children(buf: Buffer, start: number, end: number): Generator<{ type: string; start: number; end: number; body: number }> {
  let i = start;
  while (i + 8 <= end) {
    let size = buf.readUInt32BE(i);
    const type = buf.toString('latin1', i + 4, i + 8);
    let body = i + 8;
    if (size === 1) {
      size = Number(buf.readBigUInt64BE(i + 8));
      body = i + 16;
    } else if (size === 0) size = end - i;
    if (size < 8 || i + size > end) throw new Error(`bad box ${type} at ${i}`);
    yield { type, start: i, end: i + size, body };
    i += size;
  }
}

/** Reads mfhd/tfdt/trun of a media segment (first traf). */
export function readMediaSegment(buf: Buffer): SegmentInfo {
  const info: SegmentInfo = { sequence: -1, baseDecodeTime: -1, sampleCount: 0, durationSamples: 0 };
  for (const b of children(buf, 0, buf.length)) {
    if (b.type !== 'moof') continue;
    for (const m of children(buf, b.body, b.end)) {
      if (m.type === 'mfhd') info.sequence = buf.readUInt32BE(m.body + 4);
      if (m.type !== 'traf') continue;
      let defaultDuration = 0;
      for (const t of children(buf, m.body, m.end)) {
        const version = buf[t.body];
        const flags = buf.readUIntBE(t.body + 1, 3);
        let p = t.body + 4;
        if (t.type === 'tfhd') {
          p += 4;
          if (flags & 0x01) p += 8;
          if (flags & 0x02) p += 4;
          if (flags & 0x08) defaultDuration = buf.readUInt32BE(p);
        } else if (t.type === 'tfdt') {
          info.baseDecodeTime = version === 1 ? Number(buf.readBigUInt64BE(p)) : buf.readUInt32BE(p);
        } else if (t.type === 'trun') {
          const count = buf.readUInt32BE(p);
          p += 4;
          if (flags & 0x01) p += 4;
          if (flags & 0x04) p += 4;
          info.sampleCount += count;
          for (let s = 0; s < count; s++) {
            let d = defaultDuration;
            if (flags & 0x100) {
              d = buf.readUInt32BE(p);
              p += 4;
            }
            if (flags & 0x200) p += 4;
            if (flags & 0x400) p += 4;
            if (flags & 0x800) p += 4;
            info.durationSamples += d;
          }
        }
      }
    }
  }
  return info;
}

/** A media segment's access units as one run of bytes (its mdat body) and each unit's size (its trun). */
export function segmentPayload(buf: Buffer): { payload: Buffer; sizes: number[] } {
  const sizes: number[] = [];
  let payload: Buffer | undefined;
  for (const b of children(buf, 0, buf.length)) {
    if (b.type === 'mdat') payload = buf.subarray(b.body, b.end);
    if (b.type !== 'moof') continue;
    for (const m of children(buf, b.body, b.end)) {
      if (m.type !== 'traf') continue;
      for (const t of children(buf, m.body, m.end)) {
        if (t.type !== 'trun') continue;
        const flags = buf.readUIntBE(t.body + 1, 3);
        if (!(flags & 0x200)) throw new Error('trun without sample sizes');
        let p = t.body + 4;
        const count = buf.readUInt32BE(p);
        p += 4;
        if (flags & 0x01) p += 4;
        if (flags & 0x04) p += 4;
        for (let s = 0; s < count; s++) {
          if (flags & 0x100) p += 4;
          sizes.push(buf.readUInt32BE(p));
          p += 4;
          if (flags & 0x400) p += 4;
          if (flags & 0x800) p += 4;
        }
      }
    }
  }
  if (!payload) throw new Error('media segment has no mdat');
  const total = sizes.reduce((a, n) => a + n, 0);
  if (total !== payload.length) throw new Error(`media segment: trun sizes add up to ${total} bytes, mdat holds ${payload.length}`);
  return { payload, sizes };
}
