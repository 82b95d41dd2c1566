import { safetySuite } from './safety.ts';
safetySuite([10, 13]);
