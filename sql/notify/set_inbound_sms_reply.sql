UPDATE inbound_sms SET reply = %(reply)s WHERE message_sid = %(message_sid)s
