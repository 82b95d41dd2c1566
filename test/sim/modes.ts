import { faultModes } from '../../src/faults/index.ts';
export const byzantineModes = faultModes.filter((m) => m !== 'none');
