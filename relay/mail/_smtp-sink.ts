/**
 * Test fixture (not shipped behaviour): a real SMTP server (the `smtp-server` package) on a loopback port that
 * keeps every message it receives, and a relay mailer pointed at it, for suites whose relay needs SMTP
 * configured (e-mail channels are refused without it).
 */
import { SMTPServer } from "smtp-server";
import { smtpMailer, type Mailer } from "./mailer.ts";

export interface SmtpSink {
  /** Raw messages received, in order. */
  mail: string[];
  mailer: Mailer;
  close(): Promise<void>;
}

export async function startSmtpSink(from = "alerts@relay.example.test"): Promise<SmtpSink> {
  const mail: string[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    onData(stream, _session, done) {
      let data = "";
      stream.on("data", (c: Buffer) => (data += c.toString("utf8")));
      stream.on("end", () => (mail.push(data), done()));
    },
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.server.address() as { port: number }).port;
  const mailer = smtpMailer({ url: `smtp://127.0.0.1:${port}`, from });
  return {
    mail,
    mailer,
    close: async () => {
      mailer.close();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
