import { safetySuite } from './safety.ts';
safetySuite([4, 7]);
