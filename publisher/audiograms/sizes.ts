// The three audiogram sizes and where things go in each: the feeds' square
// (1:1), the stories' vertical (9:16) and the landscape of X, LinkedIn and
// YouTube (16:9). The background (artwork, title, host) is drawn once per
// size with sharp; the waveform band and the caption lines are what moves.
import type { AudiogramSize } from '../../shared/queues.ts';

export interface AudiogramLayout {
  width: number;
  height: number;
  /** The artwork, square. */
  art: { x: number; y: number; size: number };
  /** Title and host: from (x, y), within width; `middle` centres them on x. */
  text: { x: number; y: number; width: number; titleSize: number; hostSize: number; titleLines: number; anchor: 'start' | 'middle' };
  /** The moving waveform (even numbers: the video is 4:2:0). */
  wave: { x: number; y: number; width: number; height: number };
  /** Captions at the bottom: font size, distance from the bottom edge and from the sides, at most this many lines. */
  caption: { fontSize: number; marginV: number; marginH: number; lines: number };
}

export const LAYOUTS: Record<AudiogramSize, AudiogramLayout> = {
  square: {
    width: 1080,
    height: 1080,
    art: { x: 80, y: 80, size: 360 },
    text: { x: 490, y: 130, width: 510, titleSize: 50, hostSize: 34, titleLines: 4, anchor: 'start' },
    wave: { x: 80, y: 500, width: 920, height: 200 },
    caption: { fontSize: 60, marginV: 90, marginH: 80, lines: 2 },
  },
  vertical: {
    width: 1080,
    height: 1920,
    art: { x: 240, y: 180, size: 600 },
    text: { x: 540, y: 880, width: 920, titleSize: 60, hostSize: 40, titleLines: 3, anchor: 'middle' },
    wave: { x: 80, y: 1150, width: 920, height: 260 },
    caption: { fontSize: 68, marginV: 260, marginH: 80, lines: 2 },
  },
  landscape: {
    width: 1920,
    height: 1080,
    art: { x: 100, y: 100, size: 440 },
    text: { x: 610, y: 160, width: 1210, titleSize: 64, hostSize: 42, titleLines: 3, anchor: 'start' },
    wave: { x: 100, y: 600, width: 1720, height: 200 },
    caption: { fontSize: 64, marginV: 80, marginH: 160, lines: 2 },
  },
};

/** Frames a second: the waveform moves smoothly enough at 15, and each frame costs encoder time. */
export const AUDIOGRAM_FPS = 15;

/** The colours of the moving parts (captions: the word being said stands out). */
export const COLOURS = { wave: '#38bdf8', text: '#f8fafc', highlight: '#facc15', outline: '#0f172a' };

export const isAudiogramSize = (x: unknown): x is AudiogramSize => typeof x === 'string' && Object.hasOwn(LAYOUTS, x);
