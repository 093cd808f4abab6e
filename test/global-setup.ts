// Runs once before the suite: checks that the real parts the tests drive are installed.
import { assertPrograms } from '../shared/ffmpeg.ts';

export default function setup() {
  assertPrograms(['ffmpeg', 'ffprobe', 'redis-server']);
}
