// Reads the audio of one MPEG-TS HLS segment in-process, so that archiving a
// segment costs no ffmpeg or ffprobe spawn (at a thousand live recordings,
// two spawns per segment were hundreds of processes a second on two cores).
//
// It finds the program (PAT, PMT), takes the first AAC-in-ADTS stream (stream
// type 0x0F), reassembles its PES packets, reads their PTS and splits the
// payload into ADTS frames: the frame count and the ADTS sample rate give the
// segment's exact duration and first timestamp, as ffprobe gives them (first
// packet start to last packet end, in PTS). The frames and their timestamps
// go to ts-mux.ts, which writes the archived chunk.
//
// A source's bytes are hostile: every length is bounds-checked, every loop
// advances, and anything this reader is not sure of (another codec, lost
// packets, a timestamp jump inside the segment, a PCE channel layout, torn
// frames) is refused with a TsAudioUnsupported error; the caller then falls
// back to ffmpeg, which keeps the behaviour that was there before.

export const TS_PACKET = 188;
const SYNC = 0x47;
const PTS_HZ = 90_000;
const PTS_WRAP = 2 ** 33;
/** stream_type of AAC audio in ADTS (ISO/IEC 13818-7). */
const STREAM_TYPE_ADTS_AAC = 0x0f;
const ADTS_RATES = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];
/** Samples per ADTS raw data block. */
const AAC_FRAME_SAMPLES = 1024;
/** A PES timestamp may differ from where the frames before it end by this much (the 90 kHz rounding of encoders and muxers). */
const PTS_SLACK_TICKS = 90; // 1 ms

/** The segment holds something this reader does not take on (the caller falls back to ffmpeg). */
export class TsAudioUnsupported extends Error {}

export interface AdtsFrame {
  /** The whole ADTS frame, header included, as the source sent it. */
  data: Buffer;
  /** Presentation time in 90 kHz ticks, unwrapped (may exceed 2^33 when the segment crosses the wrap). */
  pts: number;
  /** True for the first frame that started in a PES packet (its PTS is the PES's own, not interpolated). */
  pesStart: boolean;
}

export interface TsAudio {
  codec: 'aac';
  /** The ADTS sampling frequency (the AAC core rate; HE-AAC doubles it when decoded). */
  sampleRate: number;
  channels: number;
  frames: AdtsFrame[];
  /** First frame's PTS, 90 kHz ticks (0 ≤ pts < 2^33). */
  firstPts: number;
  /** Last frame's end minus first frame's start, as ffprobe measures it. */
  durationSec: number;
}

/** True when the bytes start like MPEG-TS (a sync byte at 0 and, when long enough, at 188). */
export function looksLikeTs(data: Buffer): boolean {
  return data.length >= TS_PACKET && data[0] === SYNC && (data.length < 2 * TS_PACKET || data[TS_PACKET] === SYNC);
}

interface TsPacket {
  pid: number;
  unitStart: boolean;
  cc: number;
  hasPayload: boolean;
  discontinuity: boolean;
  payload: Buffer;
}

/** Splits the buffer into 188-byte packets; a lost sync byte or a torn last packet is refused. */
function* packets(data: Buffer): Generator<TsPacket> {
  if (data.length % TS_PACKET !== 0) throw new TsAudioUnsupported(`${data.length} bytes is not a whole number of 188-byte TS packets`);
  for (let off = 0; off < data.length; off += TS_PACKET) {
    if (data[off] !== SYNC) throw new TsAudioUnsupported(`no TS sync byte at offset ${off}`);
    if (data[off + 1] & 0x80) throw new TsAudioUnsupported(`transport error indicator set at offset ${off}`);
    const pid = ((data[off + 1] & 0x1f) << 8) | data[off + 2];
    const afc = (data[off + 3] >> 4) & 0x03;
    const cc = data[off + 3] & 0x0f;
    let start = off + 4;
    let discontinuity = false;
    if (afc & 0x02) {
      const afLen = data[off + 4];
      if (afLen > TS_PACKET - 5) throw new TsAudioUnsupported(`adaptation field of ${afLen} bytes at offset ${off}`);
      if (afLen > 0) discontinuity = (data[off + 5] & 0x80) !== 0;
      start = off + 5 + afLen;
    }
    const hasPayload = (afc & 0x01) !== 0;
    yield {
      pid,
      unitStart: (data[off + 1] & 0x40) !== 0,
      cc,
      hasPayload,
      discontinuity,
      payload: hasPayload ? data.subarray(start, off + TS_PACKET) : data.subarray(0, 0),
    };
  }
}

/** The section a PSI packet starts (pointer field skipped), bounded by the packet; undefined when it continues past it. */
function section(p: TsPacket): Buffer | undefined {
  if (!p.unitStart || p.payload.length < 1) return undefined;
  const at = 1 + p.payload[0];
  if (at + 3 > p.payload.length) return undefined;
  const len = ((p.payload[at + 1] & 0x0f) << 8) | p.payload[at + 2];
  if (at + 3 + len > p.payload.length) throw new TsAudioUnsupported('a PSI section spans TS packets');
  return p.payload.subarray(at, at + 3 + len);
}

/** The PMT PID of the first program the PAT lists. */
function pmtPidOf(pat: Buffer): number | undefined {
  if (pat[0] !== 0x00 || pat.length < 12) return undefined;
  // Program loop: after the 8-byte header, before the 4-byte CRC.
  for (let i = 8; i + 4 <= pat.length - 4; i += 4) {
    const program = pat.readUInt16BE(i);
    if (program !== 0) return ((pat[i + 2] & 0x1f) << 8) | pat[i + 3];
  }
  return undefined;
}

/** The first elementary stream of the PMT that is audio, with its stream type. */
function audioStreamOf(pmt: Buffer): { pid: number; streamType: number } | undefined {
  if (pmt[0] !== 0x02 || pmt.length < 16) return undefined;
  const infoLen = ((pmt[10] & 0x0f) << 8) | pmt[11];
  const end = pmt.length - 4;
  let i = 12 + infoLen;
  let firstAudio: { pid: number; streamType: number } | undefined;
  while (i + 5 <= end) {
    const streamType = pmt[i];
    const pid = ((pmt[i + 1] & 0x1f) << 8) | pmt[i + 2];
    const esInfo = ((pmt[i + 3] & 0x0f) << 8) | pmt[i + 4];
    if (streamType === STREAM_TYPE_ADTS_AAC) return { pid, streamType };
    // Other audio types (MPEG audio 0x03/0x04, LATM 0x11, AC-3 0x81...) are ffmpeg's to read.
    if (!firstAudio && [0x03, 0x04, 0x11, 0x81, 0x87].includes(streamType)) firstAudio = { pid, streamType };
    i += 5 + esInfo;
  }
  return firstAudio;
}

/** The 33-bit timestamp at `b[at..at+5)`. */
function readTimestamp(b: Buffer, at: number): number {
  return (((b[at] >> 1) & 0x07) * 2 ** 30 + (b.readUInt16BE(at + 1) >> 1) * 2 ** 15 + (b.readUInt16BE(at + 3) >> 1)) % PTS_WRAP;
}

interface Pes {
  pts?: number;
  payload: Buffer;
}

/** A PES packet's PTS and payload (whatever stream it is). */
function parsePes(pes: Buffer): Pes {
  if (pes.length < 9 || pes[0] !== 0 || pes[1] !== 0 || pes[2] !== 1) throw new TsAudioUnsupported('audio PES without a start code');
  const streamId = pes[3];
  if (streamId < 0xc0 || streamId > 0xdf) throw new TsAudioUnsupported(`audio PES with stream id 0x${streamId.toString(16)}`);
  const declared = pes.readUInt16BE(4);
  const hdrLen = pes[8];
  const start = 9 + hdrLen;
  if (start > pes.length) throw new TsAudioUnsupported('PES header longer than its packet');
  const end = declared ? 6 + declared : pes.length;
  if (end > pes.length) throw new TsAudioUnsupported('PES packet shorter than its declared length');
  if (end < start) throw new TsAudioUnsupported('PES length shorter than its header');
  const ptsFlag = (pes[7] & 0x80) !== 0;
  if (ptsFlag && hdrLen < 5) throw new TsAudioUnsupported('PES header too short for its PTS');
  return { pts: ptsFlag ? readTimestamp(pes, 9) : undefined, payload: pes.subarray(start, end) };
}

/** The audio PES packets of the segment, in order. */
function audioPes(data: Buffer): { pes: Pes[]; pid: number } {
  let pmtPid: number | undefined;
  let audio: { pid: number; streamType: number } | undefined;
  for (const p of packets(data)) {
    if (pmtPid === undefined && p.pid === 0) {
      const s = section(p);
      if (s) pmtPid = pmtPidOf(s);
    } else if (pmtPid !== undefined && p.pid === pmtPid) {
      const s = section(p);
      if (s) audio = audioStreamOf(s);
      if (audio) break;
    }
  }
  if (pmtPid === undefined) throw new TsAudioUnsupported('no PAT naming a program');
  if (!audio) throw new TsAudioUnsupported('no audio stream in the PMT');
  if (audio.streamType !== STREAM_TYPE_ADTS_AAC) throw new TsAudioUnsupported(`audio stream type 0x${audio.streamType.toString(16)} is not AAC in ADTS`);
  const pid = audio.pid;
  const pes: Pes[] = [];
  let parts: Buffer[] | undefined;
  let lastCc: number | undefined;
  const flush = () => {
    if (parts) pes.push(parsePes(Buffer.concat(parts)));
    parts = undefined;
  };
  for (const p of packets(data)) {
    if (p.pid !== pid) continue;
    if (lastCc !== undefined && !p.discontinuity) {
      // A packet without payload keeps the counter; one with payload advances it (a repeat is allowed once).
      const expected = p.hasPayload ? (lastCc + 1) & 0x0f : lastCc;
      if (p.cc !== expected && !(p.hasPayload && p.cc === lastCc)) throw new TsAudioUnsupported('audio TS packets lost (continuity counter jump)');
      if (p.hasPayload && p.cc === lastCc) continue; // a duplicate packet
    }
    lastCc = p.cc;
    if (!p.hasPayload) continue;
    if (p.unitStart) {
      flush();
      parts = [];
    }
    // Bytes before the first PES start belong to a PES of the previous segment: ffmpeg drops them too.
    parts?.push(p.payload);
  }
  flush();
  return { pes, pid };
}

interface AdtsHeader {
  frameLength: number;
  sampleRate: number;
  channels: number;
  blocks: number;
}

function adtsHeader(b: Buffer, at: number): AdtsHeader {
  if (at + 7 > b.length) throw new TsAudioUnsupported('torn ADTS header');
  if (b[at] !== 0xff || (b[at + 1] & 0xf6) !== 0xf0) throw new TsAudioUnsupported('lost ADTS sync');
  const rateIndex = (b[at + 2] >> 2) & 0x0f;
  const sampleRate = ADTS_RATES[rateIndex];
  if (!sampleRate) throw new TsAudioUnsupported(`ADTS sampling frequency index ${rateIndex}`);
  const channels = ((b[at + 2] & 0x01) << 2) | (b[at + 3] >> 6);
  if (channels === 0) throw new TsAudioUnsupported('ADTS channel configuration 0 (a program config element)');
  const frameLength = ((b[at + 3] & 0x03) << 11) | (b[at + 4] << 3) | (b[at + 5] >> 5);
  const headerLength = b[at + 1] & 0x01 ? 7 : 9;
  if (frameLength <= headerLength) throw new TsAudioUnsupported(`ADTS frame length ${frameLength}`);
  return { frameLength, sampleRate, channels: channels === 7 ? 8 : channels, blocks: (b[at + 6] & 0x03) + 1 };
}

/**
 * Reads the AAC audio of an MPEG-TS segment. Throws TsAudioUnsupported when
 * the segment is not one this reader takes on (the caller uses ffmpeg).
 */
export function readTsAudio(data: Buffer): TsAudio {
  const { pes } = audioPes(data);
  const frames: AdtsFrame[] = [];
  let sampleRate = 0;
  let channels = 0;
  /** Where the next frame is expected to start (interpolated), unwrapped ticks. */
  let next: number | undefined;
  let base = 0; // added to PTS values after a wrap
  let lastPesPts: number | undefined;
  for (const p of pes) {
    const b = p.payload;
    let off = 0;
    let first = true;
    while (off < b.length) {
      const h = adtsHeader(b, off);
      if (off + h.frameLength > b.length) throw new TsAudioUnsupported('an ADTS frame spans PES packets');
      if (sampleRate && (h.sampleRate !== sampleRate || h.channels !== channels)) throw new TsAudioUnsupported('the ADTS format changes within the segment');
      sampleRate = h.sampleRate;
      channels = h.channels;
      const frameTicks = (AAC_FRAME_SAMPLES * PTS_HZ) / sampleRate;
      let pts: number;
      if (first && p.pts !== undefined) {
        if (lastPesPts !== undefined && p.pts + base < lastPesPts - PTS_WRAP / 2) base += PTS_WRAP;
        pts = p.pts + base;
        lastPesPts = pts;
        if (next !== undefined && Math.abs(pts - next) > PTS_SLACK_TICKS) throw new TsAudioUnsupported('a timestamp jump within the segment');
      } else if (next !== undefined) pts = next;
      else throw new TsAudioUnsupported('the first audio PES has no PTS');
      frames.push({ data: b.subarray(off, off + h.frameLength), pts, pesStart: first && p.pts !== undefined });
      next = pts + frameTicks * h.blocks;
      off += h.frameLength;
      first = false;
    }
  }
  if (!frames.length || next === undefined) throw new TsAudioUnsupported('no AAC frames in the segment');
  const firstPts = frames[0].pts;
  return { codec: 'aac', sampleRate, channels, frames, firstPts, durationSec: (next - firstPts) / PTS_HZ };
}
