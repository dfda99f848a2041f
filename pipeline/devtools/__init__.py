"""Developer tooling, apart from the runtime: the demo, the embedded stack, the Twilio and SES
stand-ins, the data generator and the producer."""
