// One audiogram video through ffmpeg (shared/ffmpeg.ts, fluent-ffmpeg):
// the still layer decoded once and repeated (`loop` on one frame: looping the
// image input would decode and convert the picture again for every frame,
// which cost more than the encode), the clip's audio drawn by `showwaves`
// into its band, the captions burned in by `subtitles` (libass), then H.264
// at a low frame rate with x264's `veryfast` preset tuned `zerolatency` (no
// B-frames or lookahead, sliced threads: a third less CPU than `veryfast`
// alone on this picture, for a larger file; `stillimage` would be wrong for
// a moving waveform). The audio is the clip's
// own AAC, copied: the video's sound is the clip's, sample for sample, and
// costs nothing to encode. Measured on 2 cores: bench/audiogram.ts.
import { startFfmpeg } from '../../shared/ffmpeg.ts';
import { AUDIOGRAM_FPS, COLOURS, type AudiogramLayout } from './sizes.ts';

export interface RenderSpec {
  layout: AudiogramLayout;
  /** The clip's audio (AAC in MP4). */
  audioFile: string;
  /** The still layer, a PNG of the layout's size. */
  backgroundFile: string;
  /** The captions (captions.ts). */
  assFile: string;
  durationSec: number;
  outFile: string;
  /** 0..1 as ffmpeg goes. */
  onProgress?: (fraction: number) => void;
  /** x264 preset (default veryfast). */
  preset?: string;
}

/** The files go into a filter graph: keep their names to characters that need no escaping there. */
function graphPath(file: string): string {
  if (!/^[A-Za-z0-9/._-]+$/.test(file)) throw new Error(`unsafe path for a filter graph: ${file}`);
  return file;
}

export function filterGraph(spec: Pick<RenderSpec, 'layout' | 'assFile'>): string {
  const { wave } = spec.layout;
  return [
    `[0:v]format=yuv420p,loop=loop=-1:size=1[bg]`,
    `[1:a]aformat=channel_layouts=mono,showwaves=s=${wave.width}x${wave.height}:mode=cline:scale=sqrt:draw=full:rate=${AUDIOGRAM_FPS}:colors=${COLOURS.wave.replace('#', '0x')},format=yuva420p[wave]`,
    `[bg][wave]overlay=${wave.x}:${wave.y}:shortest=1:format=yuv420,subtitles=filename=${graphPath(spec.assFile)}[v]`,
  ].join(';');
}

export async function renderVideo(spec: RenderSpec): Promise<void> {
  const run = startFfmpeg({
    globalOptions: ['-loglevel', 'error'],
    inputs: [{ src: spec.backgroundFile, options: ['-framerate', String(AUDIOGRAM_FPS)] }, { src: spec.audioFile }],
    output: spec.outFile,
    outputOptions: [
      '-filter_complex',
      filterGraph(spec),
      '-map',
      '[v]',
      '-map',
      '1:a:0',
      '-c:v',
      'libx264',
      '-preset',
      spec.preset ?? 'veryfast',
      '-tune',
      'zerolatency',
      '-crf',
      '23',
      '-pix_fmt',
      'yuv420p',
      '-r',
      String(AUDIOGRAM_FPS),
      '-c:a',
      'copy',
      '-movflags',
      '+faststart',
      '-f',
      'mp4',
    ],
    onProgress: spec.onProgress && ((sec) => spec.onProgress!(Math.min(1, Math.max(0, sec / spec.durationSec)))),
  });
  await run.done;
}
