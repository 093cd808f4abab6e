// The transcoder stage's library (see rendition.ts for the flow).
export { processChunkArchived, finalizeRendition, validateChunkArchived, InvalidJobError } from './process-chunk.ts';
export type { ChunkJobResult, JobLike } from './process-chunk.ts';
export {
  transcoderKeys,
  CACHE,
  ingestChunk,
  buildReady,
  buildSegment,
  publishPlaylist,
  notifyPcmReady,
  dropWorkPcm,
  finalize,
  knownThrough,
  assemble,
  eventPeaks,
  eventLoudness,
  withEventLock,
} from './rendition.ts';
export type { TranscoderDeps, BuiltSegment, FinalizeResult, IngestResult } from './rendition.ts';
export { TranscoderState, transcodedSec } from './state.ts';
export * as grid from './grid.ts';
