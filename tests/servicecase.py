"""The Qingdao case the service tests send (import it: `from servicecase import QINGDAO`)."""

QINGDAO = {
    "service": "certificate",
    "submitted_on": "2025-09-29",
    "scheme": "employee",
    "first_application": True,
    "diseases": ["恶性肿瘤"],
    "materials": ["出院记录", "病理检查报告单"],
}
