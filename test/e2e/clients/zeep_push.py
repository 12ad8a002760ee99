"""Calls pushPayload with Python zeep, from the WSDL the gateway serves (argv: base url, user, password, digest 0|1, order)."""
import sys

from zeep import Client
from zeep.wsse.username import UsernameToken

endpoint, username, password, digest, order = sys.argv[1:6]
client = Client(endpoint + "?wsdl", wsse=UsernameToken(username, password, use_digest=digest == "1"))
client.service.pushPayload(
    OrderHeader=[
        {
            "EventCode": "HOLD",
            "SourceOrderSystem": "LEG",
            "SourceOrderNumber": order,
            "OrchestrationOrderId": 300100072403300123,
            "OrderLine": [
                {
                    "OrchestrationOrderLineId": 300100072403400,
                    "OrderFulfillmentLine": [
                        {"FulfillmentOrderLineId": 300100072403436, "HoldCode": "CREDIT_CHECK", "HoldComments": "Credit review"}
                    ],
                }
            ],
        }
    ]
)
print("ok")
