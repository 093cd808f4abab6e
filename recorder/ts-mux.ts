// Writes an archived HLS chunk: MPEG-TS carrying one AAC (ADTS) stream and
// nothing else, with the source's own timestamps, as ffmpeg's stream-copy
// remux (`-map 0:a:0 -c copy -copyts -f mpegts`) did, 1.4 s offset included. The frames are the
// source's bytes untouched; only the transport around them is new (one PAT,
// one PMT, a PES per source PES, a PCR on the audio PID), so a chunk holds
// exactly what ts-audio.ts read and nothing a hostile source smuggled in
// beside it. Neighbouring chunks of one run concatenate into one stream for
// the transcoder, as before.
import { TS_PACKET, type AdtsFrame } from './ts-audio.ts';

const PMT_PID = 0x1000;
const AUDIO_PID = 0x100;
const PROGRAM = 1;
const STREAM_TYPE_ADTS_AAC = 0x0f;
const AUDIO_STREAM_ID = 0xc0;
const PTS_WRAP = 2 ** 33;
/**
 * ffmpeg's mpegts muxer (under ffmpeg -copyts) writes every timestamp 1.4 s
 * later than the source's; chunks archived before and chunks ffmpeg still
 * remuxes (ts-audio.ts refuses a segment) carry that offset, so these do too:
 * a run mixing both decodes as one stream.
 */
export const FFMPEG_MUX_OFFSET_TICKS = 126_000;
/** The PCR runs this far ahead of the PTS (ffmpeg's default muxing delay, 0.7 s). */
const PCR_DELAY_TICKS = 63_000;
/** Largest PES payload written (frames are grouped as the source grouped them, split beyond this). */
const MAX_PES_PAYLOAD = 0xffff - 8;
/** Start code, stream id, length, flags, header length and PTS. */
const PES_HEADER = 14;

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 24;
    for (let k = 0; k < 8; k++) c = c & 0x80000000 ? (c << 1) ^ 0x04c11db7 : c << 1;
    t[i] = c >>> 0;
  }
  return t;
})();

/** CRC-32/MPEG-2 of a PSI section. */
function crc32(b: Buffer): number {
  let crc = 0xffffffff;
  for (const x of b) crc = ((crc << 8) ^ CRC_TABLE[((crc >>> 24) ^ x) & 0xff]) >>> 0;
  return crc >>> 0;
}

/** A PSI section (CRC appended) in one TS packet. */
function psiPacket(pid: number, body: Buffer): Buffer {
  const sec = Buffer.alloc(body.length + 4);
  body.copy(sec);
  sec.writeUInt32BE(crc32(body), body.length);
  const pkt = Buffer.alloc(TS_PACKET, 0xff);
  pkt[0] = 0x47;
  pkt[1] = 0x40 | (pid >> 8);
  pkt[2] = pid & 0xff;
  pkt[3] = 0x10; // payload only, continuity counter 0
  pkt[4] = 0; // pointer field
  sec.copy(pkt, 5);
  return pkt;
}

function pat(): Buffer {
  // table 0, section length 13, transport stream id 1, version 0 current, section 0/0, program 1 → PMT PID
  return psiPacket(0, Buffer.from([0x00, 0xb0, 0x0d, 0x00, 0x01, 0xc1, 0x00, 0x00, 0x00, PROGRAM, 0xe0 | (PMT_PID >> 8), PMT_PID & 0xff]));
}

function pmt(): Buffer {
  return psiPacket(
    PMT_PID,
    Buffer.from([
      0x02,
      0xb0,
      0x12, // section length 18
      0x00,
      PROGRAM,
      0xc1,
      0x00,
      0x00,
      0xe0 | (AUDIO_PID >> 8), // PCR PID: the audio
      AUDIO_PID & 0xff,
      0xf0,
      0x00, // no program info
      STREAM_TYPE_ADTS_AAC,
      0xe0 | (AUDIO_PID >> 8),
      AUDIO_PID & 0xff,
      0xf0,
      0x00, // no ES info
    ]),
  );
}

/** A 33-bit timestamp with its 4-bit prefix and marker bits. */
function timestamp(prefix: number, ticks: number): Buffer {
  const t = ticks % PTS_WRAP;
  const hi = Math.floor(t / 2 ** 30);
  const mid = Math.floor(t / 2 ** 15) & 0x7fff;
  const lo = t & 0x7fff;
  return Buffer.from([(prefix << 4) | (hi << 1) | 1, mid >> 7, ((mid & 0x7f) << 1) | 1, lo >> 7, ((lo & 0x7f) << 1) | 1]);
}

/** The 6-byte PCR field (base in 90 kHz ticks, extension 0). */
function pcrField(ticks: number): Buffer {
  const base = ((ticks % PTS_WRAP) + PTS_WRAP) % PTS_WRAP;
  const b = Buffer.alloc(6);
  b.writeUInt32BE(Math.floor(base / 2), 0); // the top 32 of 33 bits
  b[4] = ((base & 1) << 7) | 0x7e; // last bit, 6 reserved bits, extension bit 8 = 0
  b[5] = 0;
  return b;
}

/** TS packets a PES of `bytes` bytes takes: the first carries the PCR (8 bytes of adaptation field), the others 184 bytes each. */
function packetsFor(bytes: number): number {
  const first = TS_PACKET - 4 - 8;
  return bytes <= first ? 1 : 1 + Math.ceil((bytes - first) / (TS_PACKET - 4));
}

/** Writes one PES packet as TS packets on the audio PID at `out[at..]`, a PCR in the first, stuffing in the last; returns the end offset. */
function writePes(out: Buffer, at: number, pes: Buffer, pcrTicks: number, cc: { n: number }): number {
  let off = 0;
  let first = true;
  while (off < pes.length) {
    out[at] = 0x47;
    out[at + 1] = (first ? 0x40 : 0) | (AUDIO_PID >> 8);
    out[at + 2] = AUDIO_PID & 0xff;
    // Adaptation field: the PCR (first packet) and/or stuffing (last packet).
    const pcr = first ? pcrField(pcrTicks) : undefined;
    const minAf = pcr ? 2 + pcr.length : 0;
    const take = Math.min(TS_PACKET - 4 - minAf, pes.length - off);
    const afLen = TS_PACKET - 4 - take; // bytes the adaptation field takes, length byte included
    out[at + 3] = (afLen > 0 ? 0x30 : 0x10) | (cc.n & 0x0f);
    cc.n = (cc.n + 1) & 0x0f;
    if (afLen > 0) {
      out[at + 4] = afLen - 1;
      if (afLen > 1) {
        out[at + 5] = pcr ? 0x10 : 0x00; // PCR flag
        if (pcr) pcr.copy(out, at + 6);
        out.fill(0xff, at + 6 + (pcr ? pcr.length : 0), at + 4 + afLen); // stuffing
      }
    }
    pes.copy(out, at + 4 + afLen, off, off + take);
    off += take;
    first = false;
    at += TS_PACKET;
  }
  return at;
}

const PSI = Buffer.concat([pat(), pmt()]);

/** Writes the frames as an audio-only MPEG-TS, one PES per run of frames that began one source PES. */
export function muxAdtsToTs(frames: AdtsFrame[]): Buffer {
  // Frames grouped as the source grouped them into PES packets (split beyond the PES size limit).
  const groups: { from: number; to: number; bytes: number }[] = [];
  for (let i = 0; i < frames.length;) {
    let bytes = frames[i].data.length;
    let k = i + 1;
    for (; k < frames.length && !frames[k].pesStart && bytes + frames[k].data.length <= MAX_PES_PAYLOAD; k++) bytes += frames[k].data.length;
    groups.push({ from: i, to: k, bytes });
    i = k;
  }
  const out = Buffer.allocUnsafe(PSI.length + groups.reduce((n, g) => n + packetsFor(PES_HEADER + g.bytes), 0) * TS_PACKET);
  PSI.copy(out, 0);
  let at = PSI.length;
  const cc = { n: 0 };
  for (const g of groups) {
    const pts = Math.round(frames[g.from].pts) + FFMPEG_MUX_OFFSET_TICKS;
    const pes = Buffer.allocUnsafe(PES_HEADER + g.bytes);
    pes.set([0, 0, 1, AUDIO_STREAM_ID, ((g.bytes + 8) >> 8) & 0xff, (g.bytes + 8) & 0xff, 0x80, 0x80, 5], 0);
    timestamp(0x2, pts).copy(pes, 9);
    let w = PES_HEADER;
    for (let k = g.from; k < g.to; k++) w += frames[k].data.copy(pes, w);
    at = writePes(out, at, pes, pts - PCR_DELAY_TICKS, cc);
  }
  return out;
}
