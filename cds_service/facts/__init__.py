"""Clinical facts read from the patient's FHIR data, each with the evidence it came from."""
