"""SUSY's columns, in the file's order: the 0/1 label, then the 18 features.

The one list, for the job's scripts in the containers and, as sparksweep.data's, for the
controller: standard library only.
"""

FEATURE_COLUMNS: list[str] = [
    "lepton_1_pt",
    "lepton_1_eta",
    "lepton_1_phi",
    "lepton_2_pt",
    "lepton_2_eta",
    "lepton_2_phi",
    "missing_energy_magnitude",
    "missing_energy_phi",
    "met_rel",
    "axial_met",
    "m_r",
    "m_tr_2",
    "r",
    "mt2",
    "s_r",
    "m_delta_r",
    "dphi_r_b",
    "cos_theta_r1",
]
SUSY_COLUMNS: list[str] = ["label", *FEATURE_COLUMNS]
