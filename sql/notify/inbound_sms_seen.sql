-- The first delivery of an inbound SMS claims its MessageSid; a retry finds it taken (and waits for
-- the first delivery's transaction, if it is still running).
INSERT INTO inbound_sms (message_sid, from_masked, command)
VALUES (%(message_sid)s, %(from_masked)s, %(command)s)
ON CONFLICT (message_sid) DO NOTHING
RETURNING message_sid
