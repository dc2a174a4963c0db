/**
 * Test fixture (not shipped behaviour): the real SMTP server on loopback of relay/notify/_receivers.ts with a
 * relay mailer pointed at it, for suites whose relay needs SMTP configured (e-mail channels and passwordless
 * clinic users are refused without it).
 */
import { smtpSink } from "../notify/_receivers.ts";
import { smtpMailer, type Mailer } from "./mailer.ts";

export interface SmtpSink {
  /** Raw messages received, in order. */
  readonly mail: string[];
  mailer: Mailer;
  close(): Promise<void>;
}

export async function startSmtpSink(from = "alerts@relay.example.test"): Promise<SmtpSink> {
  const sink = await smtpSink();
  const mailer = smtpMailer({ url: `smtp://127.0.0.1:${sink.port}`, from });
  return {
    get mail() {
      return sink.messages.map((m) => m.raw);
    },
    mailer,
    close: async () => {
      mailer.close();
      await sink.close();
    },
  };
}
