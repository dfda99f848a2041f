SELECT reply FROM inbound_sms WHERE message_sid = %(message_sid)s
