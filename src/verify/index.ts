/**
 * Optimistic verification: sampling, re-execution, attestations and fraud proofs.
 */
export { Sampler, loadSamplingSecret, checkSampleRate } from './sampling.js'
export { recheck, openClaim, UncheckableReceiptError } from './recheck.js'
export type { Recheck, ClaimedOutcome, UncheckableReason } from './recheck.js'
export { makeFraudProof, judgeFraudProof, decodeFraudProof, fraudProofCar, readFraudProofCar, mapBlocks, FraudProofError } from './fraud-proof.js'
export type { FraudProof, Verdict, MadeFraudProof, FraudProofErrorName, FraudProofFile } from './fraud-proof.js'
export { signAttestation, openAttestation, InvalidAttestationError } from './attestation.js'
export type { Attestation } from './attestation.js'
