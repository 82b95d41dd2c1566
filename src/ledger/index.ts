// Public face of src/ledger: the contract types, the state machine and the city workload.
export * from './types.ts';
export * from './ledger.ts';
export * from './city.ts';
