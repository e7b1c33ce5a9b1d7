/**
 * CLOVA's public key for `SignatureCEK` (RSA-2048, SPKI). The key CLOVA publishes (docs/cek-protocol.md);
 * the official LINE SDKs embed the same key (SPKI SHA-256 0aa9590f35a0646b12ceeb09103ba0cbdde4a97b8dca10d956550f3f8c1bee86).
 * Kept as source rather than a .pem file so it ships inside dist/ and no key file is tracked.
 */
export const CLOVA_SIGNATURE_PUBLIC_KEY = `-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAwiMvQNKD/WQcX9KiWNMb
nSR+dJYTWL6TmqqwWFia69TyiobVIfGfxFSefxYyMTcFznoGCpg8aOCAkMxUH58N
0/UtWWvfq0U5FQN9McE3zP+rVL3Qul9fbC2mxvazxpv5KT7HEp780Yew777cVPUv
3+I73z2t0EHnkwMesmpUA/2Rp8fW8vZE4jfiTRm5vSVmW9F37GC5TEhPwaiIkIin
KCrH0rXbfe3jNWR7qKOvVDytcWgRHJqRUuWhwJuAnuuqLvqTyAawqEslhKZ5t+1Z
0GN8b2zMENSuixa1M9K0ZKUw3unzHpvgBlYmXRGPTSuq/EaGYWyckYz8CBq5Lz2Q
UwIDAQAB
-----END PUBLIC KEY-----`;
