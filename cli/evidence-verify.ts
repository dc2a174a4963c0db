/** `osiris evidence verify PATH` (placeholder until the kit verifier lands). */
export const summary = "verify an auditor kit (directory or ZIP) offline";
export async function run(_args: string[]): Promise<number> {
  console.error("osiris evidence verify: not implemented yet");
  return 1;
}
