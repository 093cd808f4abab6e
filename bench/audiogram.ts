// Audiogram render time: a clip of N seconds of espeak-ng speech (AAC 64 kb/s,
// 48 kHz mono, as clips are) with word timings at 150 words a minute, rendered
// in each size by the publisher's own library (publisher/audiograms), as the
// audiogram job does: background, captions, ffmpeg, upload to fs storage.
// Prints, per size, the wall time per clip second (the ffmpeg render alone,
// and the whole job), the CPU time per clip second (this process plus its
// reaped ffmpeg children, from /proc: less sensitive to other load on the
// machine than wall time) and the file's size. Target: under 0.5 s of render
// per clip second for each size.
//
//   node bin/run-ts.js bench/audiogram.ts [clip seconds=60] [runs=1]
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ClipRow } from '../shared/catalog/clips.ts';
import type { EventRow } from '../shared/catalog/events.ts';
import { keys } from '../shared/layout.ts';
import { AUDIOGRAM_SIZES } from '../shared/queues.ts';
import { FsStorage } from '../shared/storage/fs.ts';
import type { TimedWord } from '../publisher/audiograms/captions.ts';
import { renderClipAudiogram } from '../publisher/audiograms/render-clip.ts';
import { AUDIOGRAM_FPS } from '../publisher/audiograms/sizes.ts';

const clipSec = Number(process.argv[2] ?? 60);
const runs = Number(process.argv[3] ?? 1);
if (!(clipSec >= 1 && clipSec <= 600) || !(runs >= 1)) {
  console.error('usage: node bin/run-ts.js bench/audiogram.ts [clip seconds 1..600] [runs]');
  process.exit(2);
}
const CLK_TCK = 100; // Linux USER_HZ

/** CPU seconds of this process and its reaped children (ffmpeg), from /proc. */
function cpuSec(): number {
  const stat = fs.readFileSync('/proc/self/stat', 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / CLK_TCK;
}

const SPEECH =
  'After a big conversation what travels is the moment, the thirty seconds everyone quotes. ' +
  'Feeds autoplay muted, so the words are burned in, and the waveform moves with the voice. ' +
  'This benchmark measures how long one clip takes to render in each size on this machine.';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'replay-bench-audiogram-'));
try {
  // ---- setup (not measured): speech looped to the clip's length, as AAC in MP4
  const wav = path.join(tmp, 'speech.wav');
  execFileSync('espeak-ng', ['-s', '160', '-w', wav, SPEECH]);
  const storage = new FsStorage(path.join(tmp, 'storage'), 'http://127.0.0.1/files');
  const eventId = 'ev_be0c4a0d10000001';
  const clipId = 'cl_be0c4a0d10000001';
  const audioKey = keys.clipAudio(eventId, clipId);
  const m4a = path.join(tmp, 'clip.m4a');
  execFileSync('ffmpeg', [
    '-v',
    'error',
    '-stream_loop',
    '-1',
    '-i',
    wav,
    '-t',
    String(clipSec),
    '-ar',
    '48000',
    '-ac',
    '1',
    '-c:a',
    'aac',
    '-b:a',
    '64k',
    m4a,
  ]);
  await storage.putFile(audioKey, m4a);
  const words: TimedWord[] = [];
  const vocab = SPEECH.split(/\s+/);
  for (let i = 0, t = 0.2; t + 0.3 < clipSec; i++, t += 0.4) words.push({ startSec: t, endSec: t + 0.3, text: vocab[i % vocab.length] });
  const now = new Date().toISOString();
  const ev: EventRow = {
    id: eventId,
    slug: 'bench',
    title: 'Town hall: what the budget means for the libraries',
    host: 'Ann Example & Bo Sample',
    owner: null,
    source: { type: 'push' },
    streamKeyHash: null,
    reconnectWindowSec: 60,
    status: 'published',
    createdAt: now,
    endedAt: now,
    endRequestedAt: null,
    endReason: null,
    error: null,
    capturedSec: clipSec,
    timelineSec: clipSec,
    chunkCount: 1,
  };
  const clip: ClipRow = {
    id: clipId,
    eventId,
    title: 'The moment everyone quotes',
    soundbite: false,
    startFrame: 0,
    endFrame: Math.round((clipSec * 48000) / 1024),
    startSec: 0,
    endSec: clipSec,
    status: 'ready',
    reason: null,
    audio: { key: audioKey, bytes: fs.statSync(m4a).size, sha256: '' },
    cardKey: null,
    createdAt: now,
    readyAt: now,
  };

  console.log(
    `audiogram render, ${clipSec} s clip, ${AUDIOGRAM_FPS} fps, ${runs} run(s) per size; load average at start: ${os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
  );
  console.log(`machine: ${os.cpus().length} x ${os.cpus()[0]?.model ?? '?'}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, Node ${process.versions.node}`);
  const rows: Record<string, string | number>[] = [];
  let worst = 0;
  for (const size of AUDIOGRAM_SIZES) {
    for (let r = 0; r < runs; r++) {
      const cpu0 = cpuSec();
      const t0 = performance.now();
      const video = await renderClipAudiogram({ storage, words: () => Promise.resolve(words) }, clip, ev, size);
      const wallSec = (performance.now() - t0) / 1000;
      const cpu = cpuSec() - cpu0;
      worst = Math.max(worst, video.renderMs / 1000 / clipSec);
      rows.push({
        size,
        run: r + 1,
        'render s per clip s': +(video.renderMs / 1000 / clipSec).toFixed(3),
        'whole job s per clip s': +(wallSec / clipSec).toFixed(3),
        'CPU s per clip s': +(cpu / clipSec).toFixed(3),
        MB: +(video.bytes / 1e6).toFixed(2),
        'kb/s': Math.round((video.bytes * 8) / 1000 / clipSec),
      });
    }
  }
  console.table(rows);
  console.log(
    `load average at end: ${os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
  );
  console.log(`${worst < 0.5 ? 'PASS' : 'FAIL'}: worst render ${worst.toFixed(3)} s per clip second (target < 0.5)`);
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}
