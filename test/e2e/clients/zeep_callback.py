"""Calls deliveryResponse with Python zeep, from the callback WSDL the gateway serves.

argv: callback url (without ?wsdl), user, password, digest 0|1, correlation id, status.
Prints the CallbackAck's Outcome, EventId and DeliveryId, one per line.
"""
import sys

from zeep import Client
from zeep.wsse.username import UsernameToken

endpoint, username, password, digest, correlation_id, status = sys.argv[1:7]
client = Client(endpoint + "?wsdl", wsse=UsernameToken(username, password, use_digest=digest == "1"))
ack = client.service.deliveryResponse(CorrelationId=correlation_id, Status=status, Message="answered by zeep")
print(ack.Outcome)
print(ack.EventId or "")
print(ack.DeliveryId or "")
