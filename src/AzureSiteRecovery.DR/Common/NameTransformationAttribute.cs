using System.Management.Automation;
using AzureSiteRecovery.DR.Core.Model;

namespace AzureSiteRecovery.DR.Common
{
    /// <summary>
    /// Lets a parameter that names a site, policy or group take the object itself as well as its
    /// name, so <c>Get-DRSite onprem | New-ProtectionGroup ...</c> and <c>-Policy $policy</c> work.
    /// </summary>
    public sealed class NameTransformationAttribute : ArgumentTransformationAttribute
    {
        public override object Transform(EngineIntrinsics engineIntrinsics, object inputData)
        {
            var value = inputData is PSObject wrapped ? wrapped.BaseObject : inputData;
            return value switch
            {
                Site site => site.Name,
                ReplicationPolicy policy => policy.Name,
                ProtectionGroup group => group.Name,
                _ => inputData,
            };
        }
    }
}
