"""The patient-level data in: the format (schema), the loader (data), the response (response), CKD-EPI (renal)."""
