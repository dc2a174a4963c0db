/**
 * A Lit reactive controller for a form's submission: whether it is in flight (to disable the button), and the
 * one message it leaves — a status line on success, an alert with the reason on refusal (a typo found before
 * sending, or the relay's own words).
 *
 *   readonly #submit = new Submission(this);
 *   #save = () => this.#submit.run(async () => `Saved: ${(await this.client.setX(input)).name}.`, "X was not changed");
 *   render() { return html`<button ?disabled=${this.#submit.busy}>Save</button>${this.#submit.render()}`; }
 */
import { html, nothing, type ReactiveController, type ReactiveControllerHost, type TemplateResult } from "lit";

export class Submission implements ReactiveController {
  busy = false;
  message: { ok: boolean; text: string } | null = null;
  readonly #host: ReactiveControllerHost;

  constructor(host: ReactiveControllerHost) {
    this.#host = host;
    host.addController(this);
  }

  hostConnected(): void {}

  /** Runs `work`, whose answer is the success message; a failure is shown as "`failure`: reason". */
  async run(work: () => Promise<string>, failure: string): Promise<boolean> {
    this.busy = true;
    this.#host.requestUpdate();
    try {
      this.message = { ok: true, text: await work() };
      return true;
    } catch (err) {
      this.message = { ok: false, text: `${failure}: ${err instanceof Error ? err.message : String(err)}` };
      return false;
    } finally {
      this.busy = false;
      this.#host.requestUpdate();
    }
  }

  /** Refuses before sending, with a sentence naming what is wrong. */
  refuse(text: string): void {
    this.message = { ok: false, text };
    this.#host.requestUpdate();
  }

  clear(): void {
    this.message = null;
    this.#host.requestUpdate();
  }

  render(): TemplateResult {
    const m = this.message;
    return html`<div aria-live="polite">${m ? html`<p class=${m.ok ? "success" : "error"} role=${m.ok ? "status" : "alert"}>${m.text}</p>` : nothing}</div>`;
  }
}
