// The front of a faststart audio.m4a (ftyp, moov, and the mdat box header)
// for media data that already exists: the rendition's access units, one
// after the other, one MP4 chunk per rendition segment. Everything here
// follows from the frame sizes alone, so the header can be made at the end
// in milliseconds while the media data was uploaded during the event
// (progressive-m4a.ts). Times use the sample rate as timescale everywhere,
// so every duration is exact (no rounding to milliseconds).
import { box, fullBox, movieAndTrackHeaders, mp4aSampleEntry, str, timeField, u16, u24, u32, u64, u8, type AudioTrackConfig } from './fmp4.ts';

export interface M4aLayout {
  track: AudioTrackConfig;
  /** Frames of each MP4 chunk (rendition segment), in order. */
  chunkFrames: number[];
  /** Size in bytes of every frame, in order (as many as chunkFrames add up to). */
  frameSizes: ArrayLike<number>;
  /**
   * Samples at the start that are decoded but not played (an edit list skips
   * them): a clip's first frame only primes the decoder, so the frame after it
   * decodes exactly as it does in the whole rendition. Default 0 (no edit list).
   */
  primingSamples?: number;
  /**
   * Makes the header plus `followingBytes` (what is stored right after it in
   * the same piece) a multiple of `multiple` bytes, with a `free` box before
   * the mdat: a storage that joins block-aligned pieces without copying them
   * then can (Storage.joinAlignment). Players skip free boxes.
   */
  align?: { followingBytes: number; multiple: number };
}

const U32_MAX = 0xffffffff;

const time = timeField;

/**
 * A box as the list of its pieces, its size written in front: the sample
 * table of a 10-hour file (stsz, 6.8 MB) is then copied once, into the
 * header, instead of once more at every level of nesting and for every
 * draft made to learn the header's length.
 */
type Pieces = Buffer[];
const bytesOf = (p: Pieces) => p.reduce((a, b) => a + b.length, 0);
function boxPieces(type: string, ...payload: (Buffer | Pieces)[]): Pieces {
  const flat = payload.flat();
  return [u32(bytesOf(flat) + 8), str(type), ...flat];
}
const fullBoxPieces = (type: string, version: number, flags: number, ...payload: (Buffer | Pieces)[]): Pieces =>
  boxPieces(type, u8(version), u24(flags), ...payload);

function table(type: string, entries: number, write: (b: Buffer, at: number) => void, entryBytes: number, lead: Buffer[] = []): Pieces {
  const body = Buffer.alloc(entries * entryBytes);
  write(body, 0);
  return fullBoxPieces(type, 0, 0, ...lead, u32(entries), body);
}

/** ftyp + moov + the mdat header, for `layout`'s frames placed right after it. */
export function m4aHeader(layout: M4aLayout): Buffer {
  const { track, chunkFrames, frameSizes } = layout;
  const frames = frameSizes.length;
  const counted = chunkFrames.reduce((a, n) => a + n, 0);
  if (counted !== frames) throw new Error(`m4a: chunks hold ${counted} frames, ${frames} frame sizes given`);
  // Where each chunk starts in the media data, and its length: one pass over the sizes (1.7 million frames for 10 hours).
  const chunkStarts: number[] = [];
  let payloadBytes = 0;
  let f = 0;
  for (const n of chunkFrames) {
    chunkStarts.push(payloadBytes);
    for (const end = f + n; f < end; f++) payloadBytes += frameSizes[f];
  }
  const duration = frames * track.frameSamples;
  const priming = layout.primingSamples ?? 0;
  if (priming < 0 || priming > duration) throw new Error(`m4a: ${priming} priming samples for ${duration} samples`);
  const v = duration > U32_MAX ? 1 : 0;
  const mdatHeaderBytes = payloadBytes + 8 > U32_MAX ? 16 : 8;
  const wide = payloadBytes + mdatHeaderBytes > U32_MAX; // chunk offsets past 4 GiB (with the header: checked again below)

  const ftyp = box('ftyp', str('M4A '), u32(0x200), str('M4A '), str('isom'), str('iso2'), str('mp42'));
  // The movie and track last what is played; the media holds the priming samples too.
  const { mvhd, tkhd } = movieAndTrackHeaders(track.sampleRate, duration - priming);
  const edts = priming ? [box('edts', fullBox('elst', v, 0, u32(1), time(v, duration - priming), time(v, priming), u16(1), u16(0)))] : [];
  const mdhd = fullBox('mdhd', v, 0, time(v, 0), time(v, 0), u32(track.sampleRate), time(v, duration), u16(0x55c4 /* und */), u16(0));
  const hdlr = fullBox('hdlr', 0, 0, u32(0), str('soun'), u32(0), u32(0), u32(0), str('SoundHandler\0'));
  const stts = fullBox('stts', 0, 0, u32(frames ? 1 : 0), ...(frames ? [u32(frames), u32(track.frameSamples)] : []));
  // Runs of chunks with the same frame count: usually two entries (full segments, then the shorter last one).
  const stscRuns: [number, number][] = [];
  chunkFrames.forEach((n, i) => {
    if (!stscRuns.length || stscRuns[stscRuns.length - 1][1] !== n) stscRuns.push([i + 1, n]);
  });
  const stsc = table(
    'stsc',
    stscRuns.length,
    (b) => stscRuns.forEach(([first, n], i) => (b.writeUInt32BE(first, i * 12), b.writeUInt32BE(n, i * 12 + 4), b.writeUInt32BE(1, i * 12 + 8))),
    12,
  );
  // A DataView and one pass over the sizes: a 10-hour event has 1.7 million frames, and this runs at its end.
  const stsz = table(
    'stsz',
    frames,
    (b) => {
      const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
      for (let i = 0; i < frames; i++) view.setUint32(i * 4, frameSizes[i]);
    },
    4,
    [u32(0)],
  );
  // Chunk offsets depend on the header's own length, which does not depend on their values: build, measure, build again.
  const build = (base: number, wideOffsets: boolean, freeBytes = 0) => {
    const offsets = chunkStarts.map((s) => base + s);
    const co = wideOffsets
      ? table('co64', offsets.length, (b) => offsets.forEach((o, i) => b.writeBigUInt64BE(BigInt(o), i * 8)), 8)
      : table('stco', offsets.length, (b) => offsets.forEach((o, i) => b.writeUInt32BE(o, i * 4)), 4);
    const stbl = boxPieces('stbl', fullBox('stsd', 0, 0, u32(1), mp4aSampleEntry(track)), stts, stsc, stsz, co);
    const minf = boxPieces('minf', fullBox('smhd', 0, 0, u16(0), u16(0)), box('dinf', fullBox('dref', 0, 0, u32(1), fullBox('url ', 0, 1))), stbl);
    const moov = boxPieces('moov', mvhd, boxPieces('trak', tkhd, ...edts, boxPieces('mdia', mdhd, hdlr, minf)));
    const mdat = mdatHeaderBytes === 16 ? [u32(1), str('mdat'), u64(payloadBytes + 16)] : [u32(payloadBytes + 8), str('mdat')];
    const free = freeBytes ? [u32(freeBytes), str('free'), Buffer.alloc(freeBytes - 8)] : [];
    return [ftyp, ...moov, ...free, ...mdat];
  };
  const most = layout.align ? layout.align.multiple + 8 : 0; // the free box's largest size
  // Drafts are pieces only: their length is all they are for (it does not depend on the offsets' values).
  const draftBytes = bytesOf(build(0, wide));
  const needWide = wide || draftBytes + most + payloadBytes > U32_MAX;
  const sizedBytes = needWide === wide ? draftBytes : bytesOf(build(0, needWide));
  const freeBytes = layout.align ? alignPad(sizedBytes + layout.align.followingBytes, layout.align.multiple) : 0;
  return Buffer.concat(build(sizedBytes + freeBytes, needWide, freeBytes));
}

/** Bytes of a free box (0, or at least its own 8-byte header) that make `length` a multiple of `multiple`. */
function alignPad(length: number, multiple: number): number {
  if (!(multiple > 1)) return 0;
  const pad = (multiple - (length % multiple)) % multiple;
  return pad > 0 && pad < 8 ? pad + multiple : pad;
}
