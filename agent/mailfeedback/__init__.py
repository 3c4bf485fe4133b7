"""What the mail system tells us after a send: delivery, bounces, complaints, unsubscribes,
opens, clicks (signed webhooks from SendGrid, Mailgun or any sender speaking our generic JSON)
and replies (inbound-parse webhooks), turned into events on the lead's timeline."""
