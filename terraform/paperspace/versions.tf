# Root module: one Paperspace GPU machine for llmserve.triton (playbooks/provision.yml).
# Terraform >= 1.10 is required for `ephemeral` input variables: the API key variable is
# never stored in a plan file or in the state.
terraform {
  required_version = ">= 1.10"

  required_providers {
    paperspace = {
      source  = "Paperspace/paperspace"
      version = "= 0.4.5"
    }
  }
}
