// A synthetic two-voice conversation for `replay start --demo`, spoken by
// espeak-ng and joined by sox, so a newcomer sees the whole loop with audio
// that has words in it.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const LINES: [speaker: 0 | 1, text: string][] = [
  [0, 'Welcome to the replay demo. This conversation is being recorded live, chunk by chunk.'],
  [1, 'Thanks for having me. So the recording is archived while we are still talking?'],
  [0, 'Exactly. Every six seconds a chunk is sealed, stored and handed to the queue.'],
  [1, 'And the transcript, when does that show up?'],
  [0, 'Windows of up to thirty seconds are transcribed as the chunks arrive, so it keeps pace with us.'],
  [1, 'Which means that when we stop, there is almost nothing left to do.'],
  [0, 'Right. The page, the podcast feed and the webhooks go out a few seconds after the end.'],
  [1, 'Even if the live platform falls over and many listeners never got in.'],
  [0, 'That is the whole point. Thanks for listening, and see you in the replay.'],
];

const VOICES = ['en-us+m3', 'en-gb+f3'];

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d) => (err += d));
    p.on('error', (e) => reject(new Error(`${cmd} is missing (apt-get install -y espeak-ng sox): ${e.message}`)));
    p.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} failed: ${err.trim()}`))));
  });
}

/** Writes the conversation as one WAV file and returns its path and the lines with their speakers. */
export async function makeDemoConversation(dir: string): Promise<{ wav: string; lines: typeof LINES }> {
  fs.mkdirSync(dir, { recursive: true });
  const parts: string[] = [];
  const pause = path.join(dir, 'pause.wav');
  await run('sox', ['-n', '-r', '22050', '-c', '1', '-b', '16', pause, 'trim', '0', '0.6']);
  for (const [i, [who, text]] of LINES.entries()) {
    const f = path.join(dir, `line${i}.wav`);
    await run('espeak-ng', ['-v', VOICES[who], '-s', '155', '-w', f, text]);
    parts.push(f, pause);
  }
  const wav = path.join(dir, 'conversation.wav');
  await run('sox', [...parts, wav]);
  return { wav, lines: LINES };
}
